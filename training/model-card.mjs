#!/usr/bin/env node
// Writes the facts of a model folder into its MODEL_CARD.md, from the files export.py and the
// training run left there: architecture, parameters, window, file size, tokens trained, the
// training data's language mix, throughput (tokens/s, MFU, device) and the learning curve.
//
//   node training/model-card.mjs [--model models/diffuse-v2]
//
// The block sits between `<!-- facts:begin -->` and `<!-- facts:end -->` (appended after the
// card's first paragraph when missing); prose and the evaluation blocks (`npm run model:eval`)
// are left alone.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));

const M = (n) => `${(n / 1e6).toFixed(n >= 1e9 ? 0 : 1)} M`;
const pct = (x) => `${(100 * x).toFixed(1)} %`;
const thousands = (n) => Math.round(n).toLocaleString('en-US');

/** The facts block for a model folder's denoiser.json, training-curve.json and model.onnx. */
export function factsBlock(dir) {
  const info = JSON.parse(fs.readFileSync(path.join(dir, 'denoiser.json'), 'utf8'));
  const t = info.training ?? {};
  const c = t.config ?? {};
  const args = t.args ?? {};
  const onnx = path.join(dir, 'model.onnx');
  const rows = [
    ['architecture', `${c.n_layer} layers, width ${c.d_model}, ${c.n_head} heads, SwiGLU (${c.ffn_hidden}), RoPE, RMSNorm, no causal mask, head tied to the embedding`],
    ['parameters', `${(t.params / 1e6).toFixed(2)} M`],
    ['vocabulary', `${thousands(info.vocab_size)} tokens`],
    ['training window', `${info.trained_context_length ?? args.seq_len} tokens (\`context_length\` ${info.context_length})`],
    ['file', fs.existsSync(onnx) ? `model.onnx, ${(fs.statSync(onnx).size / 1e6).toFixed(1)} MB` : '—'],
    ['tokens trained', `${M(t.tokens_seen ?? 0)} in ${thousands(t.steps ?? 0)} steps${args.batch_size ? ` of ${args.batch_size} × ${args.seq_len} tokens` : ''}`],
  ];
  if (t.throughput) {
    const s = t.throughput;
    rows.push(['throughput', `${(s.tokens_per_s / 1e6).toFixed(2)} M tokens/s${s.mfu !== undefined ? `, MFU ${pct(s.mfu)} of 989 TFLOP/s bf16` : ''}${s.device ? ` (${s.device})` : ''}, median of ${s.records} log records`]);
  }
  const data = t.data;
  if (data?.tokens?.train) {
    const byLang = data.train_tokens_by_lang ?? {};
    const total = Object.values(byLang).reduce((a, b) => a + b, 0) || data.tokens.train;
    const mix = Object.entries(byLang).sort((a, b) => b[1] - a[1]).map(([lang, n]) => `${lang} ${pct(n / total)}`).join(', ');
    rows.push(['training data', `${M(data.tokens.train)} tokens${data.tokens.heldout ? ` (+ ${M(data.tokens.heldout)} held out)` : ''}${mix ? `: ${mix}` : ''}`]);
  }
  const curveFile = path.join(dir, 'training-curve.json');
  const curve = fs.existsSync(curveFile) ? JSON.parse(fs.readFileSync(curveFile, 'utf8')) : [];
  const curveRows = curve.map((p) => `| ${M(p.tokens_seen)} | ${pct(p.masked_acc_15)} | ${pct(p.masked_acc_50)} | ${p.heldout_loss_15.toFixed(2)} | ${p.loss == null ? '—' : p.loss.toFixed(2)} |`);
  return `<!-- facts:begin (written by \`node training/model-card.mjs\` from denoiser.json, training-curve.json and model.onnx; do not edit by hand) -->
| | |
|---|---|
${rows.map(([k, v]) => `| ${k} | ${v} |`).join('\n')}

Learning curve (held-out masked-token accuracy and loss, 64 windows, evaluated during training):

| tokens trained | accuracy at 15 % masked | accuracy at 50 % masked | held-out loss at 15 % | training loss |
|---|---|---|---|---|
${curveRows.join('\n')}
<!-- facts:end -->`;
}

export function writeFacts(dir) {
  const cardFile = path.join(dir, 'MODEL_CARD.md');
  const block = factsBlock(dir);
  const card = fs.existsSync(cardFile) ? fs.readFileSync(cardFile, 'utf8') : `# ${path.basename(path.resolve(dir))}\n\n## Model\n`;
  const re = /<!-- facts:begin[\s\S]*?<!-- facts:end -->/;
  let next;
  if (re.test(card)) next = card.replace(re, block);
  else {
    const at = card.indexOf('\n## ');
    next = at >= 0 ? `${card.slice(0, at).trimEnd()}\n\n${block}\n${card.slice(at)}` : `${card.trimEnd()}\n\n${block}\n`;
  }
  fs.writeFileSync(cardFile, next);
  return cardFile;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { model: { type: 'string', default: path.join(here, '..', 'models', 'diffuse-v2') } } });
  try {
    console.log(`model-card: wrote ${writeFacts(values.model)}`);
  } catch (e) {
    console.error(`model-card: ${e.message}`);
    process.exit(1);
  }
}
