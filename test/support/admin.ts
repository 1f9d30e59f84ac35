/** The ADMIN_TOKEN tests give the services they build, and the header their admin calls carry. */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef-0123';

export const ADMIN_HEADERS: Readonly<Record<string, string>> = { 'x-admin-token': TEST_ADMIN_TOKEN };
