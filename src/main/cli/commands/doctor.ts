/** `alol doctor`: what this machine offers the studio (Node, tensor backend and why, Electron, project). */
import { electronStatus } from '../../shell/electronBinary';
import { call, print, type Command } from '../kit';

export const doctorCommands: Record<string, Command> = {
  doctor: {
    options: {},
    async run(backend, values) {
      const info = await call(backend, 'app.info', {}).catch((error: unknown) => error as Error);
      const electron = electronStatus();
      const report = {
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        projectDir: backend.paths.dir,
        schemaVersion: info instanceof Error ? null : info.schemaVersion,
        tensorBackend: info instanceof Error ? { error: info.message } : info.tensorBackend,
        gpu: info instanceof Error ? null : info.tensorBackend.chosen === 'tensorflow-gpu',
        electron,
      };
      print(values.json === true, report, () =>
        [
          `Node:            ${report.node} (${report.platform})`,
          `Project:         ${report.projectDir} (schema version ${report.schemaVersion ?? '?'})`,
          info instanceof Error
            ? `Tensor backend:  none: ${info.message}`
            : [
                `Tensor backend:  ${info.tensorBackend.chosen} (${info.tensorBackend.reason})`,
                ...info.tensorBackend.candidates.map(
                  (c) => `  ${c.available ? 'ok  ' : 'no  '} ${c.name}: ${c.detail}`,
                ),
              ].join('\n'),
          `GPU in use:      ${report.gpu ? 'yes' : 'no'}`,
          `Electron:        ${electron.usable ? 'usable' : 'not usable'}: ${electron.reason}`,
        ].join('\n'),
      );
    },
  },
};
