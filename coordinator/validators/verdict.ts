/** A validator's judgement of one output; the reason is shown to the contributor. */
export type Verdict = { valid: true } | { valid: false; reason: string };
