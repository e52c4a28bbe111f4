import type { Rng } from '../rng.js';
import { ALPHA_NUM, BASE64URL, HEX } from '../rng.js';

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const LOWER_NUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

function uuid(rng: Rng): string {
  return `${rng.chars(HEX, 8)}-${rng.chars(HEX, 4)}-4${rng.chars(HEX, 3)}-${rng.pick(['8', '9', 'a', 'b'])}${rng.chars(HEX, 3)}-${rng.chars(HEX, 12)}`;
}

/** OpenAI keys of the 2024 formats: two halves around `T3BlbkFJ` (base64 of "OpenAI"). */
function openaiBody(rng: Rng): string {
  const half = rng.pick([58, 74]);
  return `${rng.chars(BASE64URL, half)}T3BlbkFJ${rng.chars(BASE64URL, half)}`;
}

/** One generator per rule id of detectors/rules/ai.ts: a fresh, valid secret value. */
export const generators: Record<string, (rng: Rng) => string> = {
  'openai-project-key': (rng) => `sk-proj-${openaiBody(rng)}`,
  'openai-service-account-key': (rng) => `sk-svcacct-${openaiBody(rng)}`,
  'openai-admin-key': (rng) => `sk-admin-${openaiBody(rng)}`,
  'openai-api-key-legacy': (rng) => `sk-${rng.chars(ALPHA_NUM, 20)}T3BlbkFJ${rng.chars(ALPHA_NUM, 20)}`,
  'anthropic-api-key': (rng) => `sk-ant-api03-${rng.chars(BASE64URL, 93)}AA`,
  'anthropic-admin-key': (rng) => `sk-ant-admin01-${rng.chars(BASE64URL, 93)}AA`,
  'huggingface-access-token': (rng) => `hf_${rng.chars(LETTERS, 34)}`,
  'huggingface-org-token': (rng) => `api_org_${rng.chars(LETTERS, 34)}`,
  'cohere-api-key': (rng) => rng.chars(ALPHA_NUM, 40),
  'groq-api-key': (rng) => `gsk_${rng.chars(ALPHA_NUM, 52)}`,
  'replicate-api-token': (rng) => `r8_${rng.chars(ALPHA_NUM, 37)}`,
  'mistral-api-key': (rng) => rng.chars(ALPHA_NUM, 32),
  'perplexity-api-key': (rng) => `pplx-${rng.chars(ALPHA_NUM, 48)}`,
  'xai-api-key': (rng) => `xai-${rng.chars(ALPHA_NUM, 80)}`,
  'deepseek-api-key': (rng) => `sk-${rng.chars(HEX, 32)}`,
  'together-api-key': (rng) => rng.chars(HEX, 64),
  'together-api-key-v1': (rng) => `tgp_v1_${rng.chars(BASE64URL, 43)}`,
  'fireworks-api-key': (rng) => `fw_${rng.chars(ALPHA_NUM, 24)}`,
  'pinecone-api-key': (rng) => `pcsk_${rng.chars(ALPHA_NUM, 5 + rng.int(2))}_${rng.chars(ALPHA_NUM, 63)}`,
  'pinecone-api-key-legacy': uuid,
  'langsmith-api-key': (rng) => `lsv2_${rng.pick(['pt', 'sk'])}_${rng.chars(HEX, 32)}_${rng.chars(HEX, 10)}`,
  'langfuse-secret-key': (rng) => `sk-lf-${uuid(rng)}`,
  'wandb-api-key': (rng) => rng.chars(HEX, 40),
  'elevenlabs-api-key': (rng) => (rng.int(2) === 0 ? `sk_${rng.chars(HEX, 48)}` : rng.chars(HEX, 32)),
  'openrouter-api-key': (rng) => `sk-or-v1-${rng.chars(HEX, 64)}`,
  'assemblyai-api-key': (rng) => rng.chars(HEX, 32),
  'deepgram-api-key': (rng) => rng.chars(HEX, 40),
  'stability-api-key': (rng) => `sk-${rng.chars(ALPHA_NUM, 48)}`,
  'voyage-api-key': (rng) => `pa-${rng.chars(BASE64URL, 43)}`,
  'azure-openai-api-key': (rng) => (rng.int(2) === 0 ? rng.chars(HEX, 32) : rng.chars(ALPHA_NUM, 84)),
  'tavily-api-key': (rng) => `tvly-${rng.pick(['', 'dev-', 'prod-'])}${rng.chars(ALPHA_NUM, 32)}`,
  'cerebras-api-key': (rng) => `csk-${rng.chars(LOWER_NUM, 48)}`,
};

/** Variable names the name-anchored values of ai.ts are assigned to. */
export const contextNames: Record<string, string[]> = {
  'cohere-api-key': ['COHERE_API_KEY', 'CO_API_KEY', 'cohere_api_key'],
  'mistral-api-key': ['MISTRAL_API_KEY', 'mistral_api_key', 'MISTRAL_KEY'],
  'deepseek-api-key': ['DEEPSEEK_API_KEY', 'deepseek_api_key'],
  'together-api-key': ['TOGETHER_API_KEY', 'TOGETHER_AI_KEY', 'together_api_key'],
  'pinecone-api-key-legacy': ['PINECONE_API_KEY', 'pinecone_api_key', 'PINECONE_KEY'],
  'wandb-api-key': ['WANDB_API_KEY', 'wandb_api_key', 'WANDB_KEY'],
  'elevenlabs-api-key': ['ELEVENLABS_API_KEY', 'ELEVEN_LABS_API_KEY', 'xi-api-key'],
  'assemblyai-api-key': ['ASSEMBLYAI_API_KEY', 'ASSEMBLY_AI_KEY', 'assemblyai_api_key'],
  'deepgram-api-key': ['DEEPGRAM_API_KEY', 'deepgram_api_key', 'DEEPGRAM_KEY'],
  'stability-api-key': ['STABILITY_API_KEY', 'STABILITY_KEY', 'stability_api_key'],
  'voyage-api-key': ['VOYAGE_API_KEY', 'voyage_api_key', 'VOYAGEAI_API_KEY'],
  'azure-openai-api-key': ['AZURE_OPENAI_API_KEY', 'AZURE_OPENAI_KEY', 'azure_openai_api_key'],
};
