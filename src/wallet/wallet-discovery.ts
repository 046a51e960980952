import { createStore, type EIP6963ProviderDetail } from 'mipd';
import type { EIP1193Provider } from 'viem';

/** A wallet the visitor may pick: an EIP-6963 announcement, or the legacy `window.ethereum`. */
export interface WalletChoice {
  /** EIP-6963's per-page id; 'injected' for `window.ethereum`. */
  uuid: string;
  name: string;
  /** A data: URI image, as EIP-6963 requires; absent for `window.ethereum`. */
  icon?: string;
  rdns: string;
  provider: EIP1193Provider;
}

/** How long wallets get to answer the EIP-6963 request; extensions answer synchronously, so this is generous. */
const kAnnounceWaitMs = 150;

/**
 * The wallets in this browser, by EIP-6963 (https://eips.ethereum.org/EIPS/eip-6963), read
 * through `mipd`: each extension announces itself, so several can coexist and none
 * overwrites another. When none announces, `window.ethereum` (EIP-1193) is the one choice.
 */
export async function discoverWallets(waitMs = kAnnounceWaitMs): Promise<WalletChoice[]> {
  const store = createStore();
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  const announced = store.getProviders().map(choiceOf);
  store.destroy();
  if (announced.length > 0) return announced;
  const injected = (globalThis as { ethereum?: EIP1193Provider }).ethereum;
  return injected ? [{ uuid: 'injected', name: 'Browser wallet', rdns: 'injected', provider: injected }] : [];
}

function choiceOf(detail: EIP6963ProviderDetail): WalletChoice {
  return { uuid: detail.info.uuid, name: detail.info.name, icon: detail.info.icon, rdns: detail.info.rdns, provider: detail.provider as EIP1193Provider };
}
