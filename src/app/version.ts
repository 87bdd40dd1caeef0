/** Flamingo's version, shown by `flamingo --version`, in OpenAPI and AsyncAPI. */
export const VERSION = '0.1.0';
