/**
 * The preload exposes the contract and nothing else: `window.alol.call(method, input)` and
 * `window.alol.on(event, listener)`. Inputs are validated in the backend, where every adapter's
 * calls are; this script stays tiny because a sandboxed preload cannot load modules.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { ipcChannels, type Bridge } from '../shared/bridge';

const bridge: Bridge = {
  call: (method, input) => ipcRenderer.invoke(ipcChannels.call, String(method), input),
  on: (event, listener) => {
    const handler = (_: IpcRendererEvent, name: unknown, payload: unknown) => {
      if (name === event) listener(payload as Parameters<typeof listener>[0]);
    };
    ipcRenderer.on(ipcChannels.event, handler);
    return () => ipcRenderer.removeListener(ipcChannels.event, handler);
  },
};

contextBridge.exposeInMainWorld('alol', bridge);
