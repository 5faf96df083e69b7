// The names of an exported decoder's graph inputs and outputs, shared by the exporter and the code that runs exports.

export const INPUT_NAME = 'input_ids';
export const OUTPUT_NAME = 'logits';
/** SAPT exports: int64 [batch, sequence], 1 on the prompt's tokens (what the selector pools). */
export const PROMPT_MASK_NAME = 'prompt_mask';
/** SAPT exports: float32 [batch, blocks], each example's weights over the blocks. */
export const ROUTING_NAME = 'routing';
