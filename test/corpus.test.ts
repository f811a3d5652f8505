// Corpus v2's pieces on real code: duplicate detection, HumanEval decontamination, tab
// conversion, the file filters, and tokenizer v2's whitespace handling (indentation is its own
// token, never glued to code; both tokenizer libraries give the same ids).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { Decontaminator, loadHumanEvalProblems, problemKeys } from '../training/corpus/decontaminate.mjs';
import { exactKey, minhashSignature, NearDupIndex, similarity } from '../training/corpus/dedup.mjs';
import { languageOf, rejectReason } from '../training/corpus/filters.mjs';
import { indentStyle, isTabIndented, spacesToTabs } from '../training/corpus/tabs.mjs';
import { packGpu } from '../training/corpus/pack.mjs';
import { ROOT } from './helpers';

const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8');

function humanEvalFile(): string {
  const name = 'HumanEval-SingleLineInfilling.jsonl.gz';
  const vendored = path.join(ROOT, 'training', 'benchmarks', 'human-eval-infilling', name);
  return fs.existsSync(vendored)
    ? vendored
    : path.join(ROOT, '..', 'shared', 'benchmarks', 'human-eval-infilling', name);
}

describe('corpus: duplicates', () => {
  const original = read('training/train.py');
  const other = read('training/model.py');

  test('copies differing in trailing spaces and blank lines have one exact key', () => {
    const variant = original
      .split('\n')
      .map((l, i) => (i % 7 === 0 ? l + '   ' : l))
      .join('\n\n');
    assert.equal(exactKey(variant), exactKey(original));
    assert.notEqual(exactKey(original.replace('def ', 'def  ')), exactKey(original));
  });

  test('a lightly edited copy is a near duplicate; a different file and half a file are not', () => {
    const lines = original.split('\n');
    // a licence header, one changed line in twenty and a renamed local: a fork's copy of the file
    const edited = [
      '# Copyright (c) someone else',
      '# SPDX-License-Identifier: MIT',
      ...lines.map((l, i) => (i % 20 === 5 ? l.replace(/=/, '= 1 +') : l)),
    ]
      .join('\n')
      .replaceAll('windows', 'wins');
    const a = minhashSignature(original)!;
    const b = minhashSignature(edited)!;
    const c = minhashSignature(other)!;
    const half = minhashSignature(lines.slice(0, Math.floor(lines.length / 2)).join('\n'))!;
    assert.ok(similarity(a, b) >= 0.8, `edited copy similarity ${similarity(a, b)}`);
    assert.ok(similarity(a, c) < 0.3, `different file similarity ${similarity(a, c)}`);
    assert.ok(similarity(a, half) < 0.8, `half file similarity ${similarity(a, half)}`);
    const index = new NearDupIndex(0.8);
    const id = index.add(a);
    index.add(c);
    assert.equal(index.find(b), id);
    assert.equal(index.find(half), -1);
    assert.equal(index.find(minhashSignature(read('training/export.py'))!), -1);
  });

  test('a text too short to have shingles has no signature (exact dedup only)', () => {
    assert.equal(minhashSignature('x = 1\n'), null);
  });
});

describe('corpus: HumanEval decontamination', () => {
  const problems = loadHumanEvalProblems(humanEvalFile());
  const decon = new Decontaminator(problems);

  test('all 164 problems load, each with its signature', () => {
    assert.equal(problems.length, 164);
    assert.equal(decon.keys.length, 164);
  });

  test('every reference program is caught', () => {
    const missed = problems.filter((p) => !decon.check(p.code)).map((p) => p.id);
    assert.deepEqual(missed, []);
  });

  test('a problem pasted into a real file, renamed, re-indented with tabs or ported to JavaScript is caught', () => {
    const host = read('training/train.py');
    const p = problems.find((x) => x.id === 'HumanEval/0')!;
    assert.deepEqual(decon.check(host + '\n\n' + p.code), { rule: 'signature', problem: 'HumanEval/0' });
    // renamed function without its docstring: the body gives it away
    const renamed = p.code.replaceAll('has_close_elements', 'any_close').replace(/"""[\s\S]*?"""/, '');
    assert.deepEqual(decon.check(host + '\n' + spacesToTabs(renamed, 4)), { rule: 'body', problem: 'HumanEval/0' });
    // a port keeps the docstring as a comment
    const keys = problemKeys(p)!;
    const js = `// ${keys.docstring}\n// given threshold.\nfunction anyClose(numbers, threshold) {\n  return numbers.some((a, i) => numbers.some((b, j) => i !== j && Math.abs(a - b) < threshold));\n}\n`;
    assert.deepEqual(decon.check(js), { rule: 'docstring', problem: 'HumanEval/0' });
  });

  test("the repo's own code and a same-named function with another signature are clean", () => {
    for (const f of ['training/train.py', 'training/model.py', 'training/export.py', 'training/quantize.py']) {
      assert.equal(decon.check(read(f)), null, f);
    }
    assert.equal(
      decon.check(
        'def has_close_elements(points, eps=1e-9):\n    return any(abs(a - b) < eps for a, b in zip(points, points[1:]))\n',
      ),
      null,
    );
  });
});

describe('corpus: tab conversion', () => {
  test('a 4-space Python file becomes a tab-indented file Python reads as the same program', () => {
    const src = read('training/model.py');
    const style = indentStyle(src);
    assert.equal(style.unit, 4);
    assert.ok(!isTabIndented(src));
    const tabbed = spacesToTabs(src, 4);
    assert.ok(isTabIndented(tabbed));
    const srcLines = src.split('\n');
    const tabLines = tabbed.split('\n');
    assert.equal(tabLines.length, srcLines.length);
    tabLines.forEach((l, i) => {
      assert.equal(l.trimStart(), srcLines[i].trimStart(), `line ${i + 1} keeps its code`);
      assert.ok(!/^\t* {4}/.test(l), `line ${i + 1} has no 4-space indent left`);
    });
    // same syntax tree (docstrings aside, whose text holds the indentation)
    const dump = (code: string) => {
      const r = spawnSync(
        '/usr/bin/python3',
        [
          '-c',
          [
            'import ast, sys',
            'tree = ast.parse(sys.stdin.read())',
            'for n in ast.walk(tree):',
            '    if isinstance(n, ast.Constant) and isinstance(n.value, str): n.value = ""',
            'print(ast.dump(tree))',
          ].join('\n'),
        ],
        { input: code, encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    assert.equal(dump(tabbed), dump(src));
  });

  test('a 2-space TypeScript file gets one tab per level and keeps alignment spaces', () => {
    const src = read('src/core/text/spanText.ts');
    assert.equal(indentStyle(src).unit, 2);
    const tabbed = spacesToTabs(src, 2);
    assert.ok(isTabIndented(tabbed));
    assert.equal(spacesToTabs('    a\n     * b\n', 2), '\t\ta\n\t\t * b\n');
  });

  test('a Go file (tab-indented already) is recognised as such', () => {
    const go = 'package main\n\nfunc main() {\n\tfor i := 0; i < 3; i++ {\n\t\tprintln(i)\n\t}\n}\n';
    assert.ok(isTabIndented(go));
  });
});

describe('corpus: filters', () => {
  test('real sources pass; minified, generated and vendored files do not', () => {
    assert.equal(rejectReason('src/core/text/spanText.ts', read('src/core/text/spanText.ts')), null);
    assert.equal(rejectReason('training/train.py', read('training/train.py')), null);
    const minified = read('node_modules/@huggingface/tokenizers/dist/tokenizers.min.mjs');
    assert.equal(rejectReason('dist/tokenizers.min.mjs', minified), 'generated-name');
    assert.equal(rejectReason('dist/tokenizers.mjs', minified), 'long-line');
    assert.equal(
      rejectReason('api/v1/types.go', '// Code generated by protoc-gen-go. DO NOT EDIT.\n' + read('training/train.py')),
      'generated',
    );
    assert.equal(rejectReason('pip/_vendor/six.py', read('training/train.py')), 'vendored');
  });

  test('languages by extension, name and shebang', () => {
    assert.equal(languageOf('a/b.d.ts'), 'typescript');
    assert.equal(languageOf('usr/include/c++/12/vector'), 'c-cpp');
    assert.equal(languageOf('usr/bin/foo', '#!/bin/bash'), 'shell');
    assert.equal(languageOf('usr/bin/foo', '#!/usr/bin/python3'), 'python');
    assert.equal(languageOf('README.md'), 'markdown');
    assert.equal(languageOf('ci/Dockerfile'), 'dockerfile');
    assert.equal(languageOf('photo.png'), null);
    assert.equal(rejectReason('package-lock.json', read('package-lock.json').slice(0, 5000)), 'generated-name');
  });
});

describe('tokenizer v2', () => {
  const file = path.join(ROOT, 'training', 'tokenizer-v2', 'tokenizer.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const rust = RustTokenizer.fromFile(file);
  const hf = new HfTokenizer(json, {});
  const samples: [string, string][] = [
    ['spaces (Python)', read('training/model.py')],
    ['tabs (Python converted)', spacesToTabs(read('training/model.py'), 4)],
    ['spaces (TypeScript)', read('src/core/text/spanText.ts')],
    [
      'tabs (Go)',
      'package main\n\nfunc main() {\n\tfor i := 0; i < 3; i++ {\n\t\tif i > 1 {\n\t\t\treturn\n\t\t}\n\t}\n}\n',
    ],
    ['blank and whitespace-only lines', 'a\n\n\n    \n\t\n  b  \n'],
  ];

  for (const [name, text] of samples) {
    test(`indentation is its own token(s) and both libraries agree: ${name}`, async () => {
      const enc = await rust.encode(text, null, { addSpecialTokens: false });
      const ids = enc.getIds();
      assert.deepEqual(
        hf.encode(text, { add_special_tokens: false }).ids,
        ids,
        '@huggingface/tokenizers gives the same ids',
      );
      // token boundaries as character offsets
      const boundaries = new Set<number>([0]);
      let pos = 0;
      for (const id of ids) {
        pos += hf.decode([id], { skip_special_tokens: false, clean_up_tokenization_spaces: false }).length;
        boundaries.add(pos);
      }
      assert.equal(pos, text.length, 'the tokens decode to the text');
      let lineStart = 0;
      for (const line of text.split('\n')) {
        const indentEnd = lineStart + (line.length - line.trimStart().length);
        assert.ok(boundaries.has(lineStart), `a token starts at the line at offset ${lineStart}`);
        assert.ok(boundaries.has(indentEnd), `a token starts after the indentation at offset ${indentEnd}`);
        lineStart += line.length + 1;
      }
    });
  }

  test('"\\n\\t\\treturn x" is newline, indentation, word, word', async () => {
    const enc = await rust.encode('\n\t\treturn x', null, { addSpecialTokens: false });
    assert.deepEqual(enc.getTokens(), ['Ċ', 'ĉĉ', 'return', 'Ġx']);
  });
});

describe('corpus: packing for the GPU machine', () => {
  test('pieces travel in call folders under the size limit and unpack to the same train.bin', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-pack-'));
    const data = path.join(work, 'data');
    fs.mkdirSync(data);
    // token ids of real text (this repo's sources), as the encoder writes them
    const codec = new HfTokenizer(JSON.parse(read('models/diffuse-small/tokenizer.json')), {});
    const text = ['training/train.py', 'training/model.py', 'training/export.py', 'src/core/text/spanText.ts']
      .map(read)
      .join('\n')
      .repeat(2);
    const train = Buffer.from(Uint16Array.from(codec.encode(text, { add_special_tokens: false }).ids).buffer);
    const heldout = Buffer.from(
      Uint16Array.from(codec.encode(read('training/export.py'), { add_special_tokens: false }).ids).buffer,
    );
    fs.writeFileSync(path.join(data, 'train.bin'), train);
    fs.writeFileSync(path.join(data, 'heldout.bin'), heldout);
    const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
    fs.writeFileSync(
      path.join(data, 'meta.json'),
      JSON.stringify({ vocab_size: 8192, sha256: { train: sha(train), heldout: sha(heldout) } }),
    );
    // the tokenizer files only travel; small stand-ins keep the call folders small
    for (const f of ['tokenizer.json', 'tokenizer_config.json'])
      fs.writeFileSync(path.join(data, f), JSON.stringify({ file: f }));
    const out = path.join(work, 'gpu');
    const callMiB = 0.02;
    const m = packGpu({ work, out, callMiB, pieceMiB: 0.02, log: () => {} });
    assert.ok(m.train.pieces.length >= 3, `${m.train.pieces.length} pieces`);
    assert.ok(m.calls.length >= 2, `${m.calls.length} calls`);
    for (const c of m.calls) {
      const size = fs
        .readdirSync(path.join(out, c.folder))
        .filter((f) => f !== 'manifest.json')
        .reduce((n, f) => n + fs.statSync(path.join(out, c.folder, f)).size, 0);
      assert.ok(size <= callMiB * 2 ** 20, `${c.folder}: ${size} bytes`);
    }
    const unpack = (src: string, dest: string) =>
      spawnSync('/usr/bin/python3', [path.join(ROOT, 'training', 'gpu_data.py'), 'unpack', src, dest], {
        encoding: 'utf8',
      });
    // the first call alone: pieces missing, it says which call folders are still to come
    const firstOnly = path.join(work, 'first');
    fs.mkdirSync(firstOnly);
    fs.cpSync(path.join(out, 'call-01'), path.join(firstOnly, 'call-01'), { recursive: true });
    const dest = path.join(work, 'unpacked');
    let r = unpack(firstOnly, dest);
    assert.equal(r.status, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /still to carry: call-02/);
    // then everything (the first call's pieces were kept, as on a warm machine)
    r = unpack(out, dest);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.ok(fs.readFileSync(path.join(dest, 'train.bin')).equals(train));
    assert.ok(fs.readFileSync(path.join(dest, 'heldout.bin')).equals(heldout));
    assert.ok(fs.existsSync(path.join(dest, 'tokenizer.json')));
    // a damaged piece is refused
    const piece = path.join(out, m.train.pieces[1].file);
    const bytes = fs.readFileSync(piece);
    bytes[bytes.length >> 1] ^= 0xff;
    fs.writeFileSync(piece, bytes);
    r = unpack(out, path.join(work, 'again'));
    assert.equal(r.status, 1, r.stdout + r.stderr);
    fs.rmSync(work, { recursive: true, force: true });
  });
});

describe('corpus and tokenizer commands, end to end on a small package tree', () => {
  test('npm run model:corpus and model:tokenizer: filters, duplicates, decontamination, split, manifest, token files', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-corpus-'));
    const nm = path.join(work, 'npm', 'node_modules');
    const pkg = (name: string, license: string, files: Record<string, string>) => {
      const dir = path.join(nm, name);
      for (const [rel, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), text);
      }
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', license }));
    };
    const spanText = read('src/core/text/spanText.ts');
    const humanEval0 = loadHumanEvalProblems(humanEvalFile())[0].code;
    const minified = read('node_modules/@huggingface/tokenizers/dist/tokenizers.min.mjs');
    pkg('alpha', 'MIT', {
      'src/spanText.ts': spanText,
      'dist/spanText.js': spanText.replace(/: string/g, ''), // a build variant of src/spanText.ts
      'dist/bundle.min.js': minified,
      'README.md': '# alpha\n'.repeat(50),
    });
    pkg('beta', 'ISC', { 'lib/copy.ts': '// vendored copy\n' + spanText.replace(/\n/g, '\r\n') }); // near duplicate, CRLF
    pkg('gamma', 'Apache-2.0', {
      'model.py': read('training/model.py'),
      'tasks.py': read('training/quantize.py') + '\n\n' + humanEval0,
    });
    for (const [i, f] of [
      'training/train.py',
      'training/export.py',
      'training/similarity.mjs',
      'training/eval.mjs',
      'src/core/text/lineEndings.ts',
      'training/humaneval.mjs',
    ].entries()) {
      if (fs.existsSync(path.join(ROOT, f))) pkg(`pkg-${i}`, 'MIT', { [path.basename(f)]: read(f) });
    }
    const node = (args: string[]) =>
      spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 5 * 60_000 });
    let r = node(['training/corpus.mjs', '--work', work, '--no-fetch', '--heldout-percent', '30']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const corpusDir = path.join(work, 'corpus');
    const manifest = JSON.parse(fs.readFileSync(path.join(corpusDir, 'manifest.json'), 'utf8'));
    const names = manifest.packages.map((p: { name: string }) => p.name);
    assert.ok(names.includes('gamma'), names.join(' '));
    assert.equal(manifest.packages.find((p: { name: string }) => p.name === 'gamma').license, 'Apache-2.0');
    assert.equal(manifest.stats.nearDuplicate, 1);
    assert.equal(manifest.stats.variant, 1);
    assert.equal(manifest.stats.contaminated.files, 1);
    assert.match(manifest.stats.contaminated.examples[0], /^gamma\/tasks\.py/);
    assert.ok(manifest.stats.rejected['generated-name'] >= 1);
    assert.ok(manifest.totals.heldout.packages >= 1 && manifest.totals.train.packages >= 1);
    const docs = [...manifest.shards.train, 'heldout.jsonl'].flatMap((f: string) =>
      fs
        .readFileSync(path.join(corpusDir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    );
    assert.equal(docs.length, manifest.totals.train.files + manifest.totals.heldout.files);
    assert.ok(
      docs.every((d) => !d.text.includes('\r')),
      'LF only',
    );
    // of alpha's source and beta's near copy, whichever came first stays; alpha's dist/ variant never
    const copies = docs
      .filter((d) => (d.package === 'alpha' || d.package === 'beta') && d.lang === 'typescript')
      .map((d) => `${d.package}/${d.path}`);
    assert.equal(copies.length, 1, copies.join(' '));
    assert.match(copies[0], /^(alpha\/src\/spanText\.ts|beta\/lib\/copy\.ts)$/);

    r = node(['training/tokenizer.mjs', '--work', work, '--vocab', '700', '--sample-mb', '1']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const dataDir = path.join(work, 'data');
    const meta = JSON.parse(fs.readFileSync(path.join(dataDir, 'meta.json'), 'utf8'));
    assert.equal(meta.vocab_size, 700);
    assert.equal(meta.newline_token_ids.length, 1, 'a newline is one token of its own');
    const train = new Uint16Array(fs.readFileSync(path.join(dataDir, 'train.bin')).buffer.slice(0));
    assert.equal(train.length, meta.tokens.train);
    // the first document comes back from its ids (bos … eos around it)
    const tok = new HfTokenizer(JSON.parse(fs.readFileSync(path.join(dataDir, 'tokenizer.json'), 'utf8')), {});
    const end = train.indexOf(meta.special.eos);
    assert.equal(train[0], meta.special.bos);
    const first = JSON.parse(fs.readFileSync(path.join(corpusDir, manifest.shards.train[0]), 'utf8').split('\n')[0]);
    assert.equal(
      tok.decode([...train.subarray(1, end)], { skip_special_tokens: false, clean_up_tokenization_spaces: false }),
      first.text,
    );
    const after = JSON.parse(fs.readFileSync(path.join(corpusDir, 'manifest.json'), 'utf8'));
    assert.equal(
      Object.values(after.mix.train as Record<string, { tokens: number }>).reduce((n, m) => n + m.tokens + 0, 0) +
        2 * manifest.totals.train.files,
      meta.tokens.train,
    );
    fs.rmSync(work, { recursive: true, force: true });
  });
});
