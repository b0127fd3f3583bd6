export { issueApiKey, authenticateApiKey, presentApiKey, hashSecret } from './api-keys.js';
export type { ApiKeyRole, Principal, IssuedApiKey, IssueOptions } from './api-keys.js';
