import type { Bridge } from '../../shared/bridge';

declare global {
  interface Window {
    /** Present only inside Electron, where the preload exposes the contract. */
    alol?: Bridge;
  }
}

export {};
