import { resolve } from 'node:path';
import { appStoreNotification, loadOrCreateLocalAppStore } from '../stand-ins/app-store-chain';
import { localStores } from '../offline-config';

const usage = `Usage: npm run -s store-notification -- <storeAccountToken> [TYPE] [SUBTYPE]

Prints the body of an App Store Server Notification v2 for the offline platform, signed by its
local App Store chain in .local/ (npm start trusts it; no deployed stack does). Post it with:

  npm run -s store-notification -- <storeAccountToken> SUBSCRIBED | curl -s -X POST $API/api/v1/subscriptions/webhook \\
    -H 'content-type: application/json' -d @-

TYPE is SUBSCRIBED (default), DID_RENEW, EXPIRED, REFUND, REVOKE, DID_CHANGE_RENEWAL_STATUS (SUBTYPE
AUTO_RENEW_DISABLED), …; storeAccountToken is the one GET /api/v1/user/profile answers.`;

const [accountToken, type = 'SUBSCRIBED', subtype] = process.argv.slice(2);
if (accountToken === '--help' || accountToken === '-h') {
  console.log(usage);
  process.exit(0);
}
if (!accountToken || !/^[0-9a-f-]{36}$/i.test(accountToken)) {
  console.error(usage);
  process.exit(2);
}
const chain = await loadOrCreateLocalAppStore(resolve('.local'));
console.log(
  JSON.stringify(
    appStoreNotification(chain, {
      accountToken,
      type,
      subtype,
      bundleId: localStores.bundleId,
      environment: 'Sandbox',
    }),
  ),
);
