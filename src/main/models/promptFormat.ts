/** The prompt format a model gets: the one asked for, else chat where the model has a chat template. */
import { AppError, type PromptFormat } from '../../shared/contract';

/** 'chat' for a model without a chat template is refused, naming the model. */
export function chooseFormat(
  asked: PromptFormat | undefined,
  model: { name: string; chatTemplate: boolean },
): PromptFormat {
  if (asked === 'chat' && !model.chatTemplate)
    throw new AppError(
      'invalid_input',
      `format "chat" needs a chat template, and model "${model.name}" has none (no chat_template in its tokenizer_config.json): use format "raw"`,
    );
  return asked ?? (model.chatTemplate ? 'chat' : 'raw');
}
