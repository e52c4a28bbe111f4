import type { RuleSpec } from '../types.js';
export const rules: RuleSpec[] = [];
