import { resolve } from 'node:path';
import { createLocalIdentityProvider } from '../stand-ins/identity-provider';
import { loadOrCreateLocalKeys } from '../local-keys';
import { localClientIds } from '../offline-config';

const usage = `Usage: npm run token -- <google|apple> <sub> <email> [name]
       npm run token -- apple-code <sub>

Prints an ID token from the offline platform's stand-in for Google or Apple sign-in,
signed by the local key in .local/ (valid 1 hour) — or, with apple-code, the authorizationCode
Sign in with Apple hands the app beside the ID token (redeemable once, for 5 minutes). Example:

  npm run token -- google 1234567890 ada@example.com "Ada Lovelace"`;

const [provider, sub, email, ...nameParts] = process.argv.slice(2);
if (provider === '--help' || provider === '-h') {
  console.log(usage);
  process.exit(0);
}
if (provider === 'apple-code' && sub) {
  const keys = loadOrCreateLocalKeys(resolve('.local'));
  console.log(
    await createLocalIdentityProvider(keys.identityProviderKeyPem, localClientIds).mintAppleAuthorizationCode(sub),
  );
  process.exit(0);
}
if ((provider !== 'google' && provider !== 'apple') || !sub || !email?.includes('@')) {
  console.error(usage);
  process.exit(2);
}
const name = nameParts.join(' ') || undefined;
const [givenName, ...family] = name?.split(' ') ?? [];
const keys = loadOrCreateLocalKeys(resolve('.local'));
const idp = createLocalIdentityProvider(keys.identityProviderKeyPem, localClientIds);
console.log(await idp.mint(provider, { sub, email, name, givenName, familyName: family.join(' ') || undefined }));
