import { describe, type Manifest, type PolicyRule, type Violation } from '../types.ts';
import { allContainers, workloads } from '../workloads.ts';

const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|SIGNING_?KEY|CREDENTIALS?|AUTH)$/i;
const SECRET_VALUE: readonly [RegExp, string][] = [
  [/AKIA[0-9A-Z]{16}/, 'an AWS access key id'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key'],
  [/\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/, 'a JWT'],
  [/\b(ghp|gho|github_pat|xox[abp])_[A-Za-z0-9_]{16,}/, 'an access token'],
];
/** `scheme://user:password@` where the password is not a `$(VAR)` reference. */
const URL_CREDENTIALS = /[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:(?!\$\()[^\s@/]+@/i;

/** Why a name/value pair looks like a credential, or undefined. */
export function credentialIn(name: string, value: string): string | undefined {
  if (value === '') return undefined;
  if (SECRET_NAME.test(name)) return `${name} holds a literal value; use a secretKeyRef`;
  if (URL_CREDENTIALS.test(value))
    return `${name} is a URL with an inline password; compose it from a secretKeyRef`;
  for (const [pattern, what] of SECRET_VALUE) if (pattern.test(value)) return `${name} looks like ${what}`;
  return undefined;
}

export const secretLiteralsRule: PolicyRule = {
  id: 'no-secret-literals',
  description:
    'no Secret with data in the manifests, and no env or ConfigMap value that looks like a credential',
  check(objects) {
    const out: Violation[] = [];
    const add = (obj: Manifest, message: string): void => {
      out.push({ rule: this.id, object: describe(obj), message });
    };
    for (const obj of objects) {
      if (obj.kind === 'Secret') {
        const keys = [
          ...Object.keys((obj.data as Record<string, string> | undefined) ?? {}),
          ...Object.keys((obj.stringData as Record<string, string> | undefined) ?? {}),
        ];
        if (keys.length > 0)
          add(
            obj,
            `carries secret data (${keys.join(', ')}); create it out of band or with External Secrets`,
          );
      }
      if (obj.kind === 'ConfigMap') {
        for (const [k, v] of Object.entries((obj.data as Record<string, string> | undefined) ?? {})) {
          const why = credentialIn(k, v);
          if (why) add(obj, why);
        }
      }
    }
    for (const w of workloads(objects))
      for (const c of allContainers(w.pod))
        for (const e of c.env ?? []) {
          const why = e.value === undefined ? undefined : credentialIn(e.name, e.value);
          if (why) add(w.object, `container ${c.name}: ${why}`);
        }
    return out;
  },
};
