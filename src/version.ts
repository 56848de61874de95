/** The release of this build, shown by `custody --version`, the OpenAPI document and logs. */
export const CUSTODY_VERSION = '0.1.0';
