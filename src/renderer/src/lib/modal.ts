import type { Attachment } from 'svelte/attachments';

/**
 * Opens a <dialog> with showModal while it is in the page: focus moves in and is kept there, the
 * page behind is inert, and Escape closes it (which a plain div would not give).
 */
export const modal: Attachment<HTMLDialogElement> = (dialog) => {
  dialog.showModal();
  return () => {
    if (dialog.open) dialog.close();
  };
};
