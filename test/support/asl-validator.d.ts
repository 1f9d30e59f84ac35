// asl-validator 4 ships no types; this is the part the tests call.
declare module 'asl-validator' {
  interface AslValidatorResult {
    readonly isValid: boolean;
    readonly errors: readonly { readonly 'Error code': string; readonly Message: string }[];
  }
  export default function validator(
    definition: object,
    options?: { readonly checkPaths?: boolean; readonly checkArn?: boolean },
  ): AslValidatorResult;
}
