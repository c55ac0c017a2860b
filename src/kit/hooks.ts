// Module resolve hook (registered by run.js): `connector-host/kit` imported from anywhere — a
// user's folder with no node_modules — is this package's own kit.

const KIT = new URL('./index.js', import.meta.url).href;

type Next = (specifier: string, context: unknown) => Promise<{ url: string }> | { url: string };

export async function resolve(specifier: string, context: unknown, next: Next): Promise<{ url: string; shortCircuit?: boolean }> {
  if (specifier === 'connector-host/kit') return { url: KIT, shortCircuit: true };
  return next(specifier, context);
}
