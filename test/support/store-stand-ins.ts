import { appleLikeChain } from '../../local/stand-ins/app-store-chain';
import { startPlayDeveloperStandIn } from '../../local/stand-ins/play-developer-stand-in';

/**
 * The stores a test runtime verifies purchases against: an App Store chain of trust with a test
 * root (what `appStoreRoots` pins) and the Play Developer API stand-in. `runtime` is what
 * `createTestRuntime` takes for them.
 */
export async function startStoreStandIns() {
  const chain = await appleLikeChain();
  const play = await startPlayDeveloperStandIn();
  return { chain, play, runtime: { appStoreRoots: [chain.root], playDeveloperApiUrl: play.url }, stop: play.stop };
}
