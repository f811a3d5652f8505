// Which files are readable code, and in which language. A file is kept only when a person could
// have written it: minified, generated, vendored, data-like and binary files are rejected with a
// reason that corpus.mjs counts in the manifest.

/** Language of a file from its path (and, for extension-less scripts, its first line). */
export function languageOf(rel, firstLine = '') {
  const m = /\.([A-Za-z0-9]+)$/.exec(rel);
  const ext = m ? m[1].toLowerCase() : '';
  switch (ext) {
    case 'ts': case 'tsx': case 'mts': case 'cts': return 'typescript';
    case 'js': case 'mjs': case 'cjs': case 'jsx': return 'javascript';
    case 'py': return 'python';
    case 'go': return 'go';
    case 'rs': return 'rust';
    case 'c': case 'h': case 'cc': case 'cpp': case 'cxx': case 'hpp': case 'hh': case 'hxx': case 'ipp': case 'tcc': return 'c-cpp';
    case 'sh': case 'bash': return 'shell';
    case 'css': case 'scss': case 'less': return 'css';
    case 'html': case 'htm': case 'vue': case 'svelte': return 'html';
    // what else an editor opens beside code: docs and configuration
    case 'md': case 'markdown': return 'markdown';
    case 'json': return 'json';
    case 'yml': case 'yaml': return 'yaml';
    case 'toml': return 'toml';
    case 'sql': return 'sql';
    case 'mk': return 'makefile';
    default: break;
  }
  const base = rel.slice(rel.lastIndexOf('/') + 1);
  if (base === 'Makefile' || base === 'GNUmakefile') return 'makefile';
  if (base === 'Dockerfile' || base.startsWith('Dockerfile.')) return 'dockerfile';
  // libstdc++'s headers have no extension (<vector>, <algorithm>)
  if (/(^|\/)usr\/include\/c\+\+\/\d+\/(bits\/|ext\/|tr1\/|debug\/|parallel\/|pstl\/)?[a-z_]+$/.test(rel)) return 'c-cpp';
  if (/(^|\/)bash-completion\/completions\//.test(rel)) return 'shell';
  if (/^#!.*\b(ba|da|z|k)?sh\b/.test(firstLine)) return 'shell';
  if (/^#!.*\bpython[0-9.]*\b/.test(firstLine)) return 'python';
  if (/^#!.*\bnode\b/.test(firstLine)) return 'javascript';
  return null;
}

export const MIN_CHARS = 200;
export const MAX_CHARS = 600_000;
export const MAX_LINE = 400;
export const MAX_MEAN_LINE = 100;

const VENDORED = /(^|\/)(vendor|vendored|_vendor|third_party|thirdparty|3rdparty|bower_components|jspm_packages|external|extern)\//i;
const GENERATED_NAME = /((^|\/)(package-lock|npm-shrinkwrap|composer\.lock|yarn\.lock)|\.map$|CHANGELOG\.md$|HISTORY\.md$|\.min\.|\.bundle\.|-bundle\.|\.pb\.go$|_pb2(_grpc)?\.py$|\.pb\.(h|cc)$|zz_generated|_generated\.|\.generated\.|bindgen|\.d\.ts\.map$|lexer\.py$|parsetab\.py$|_parser\.py$)/;
const GENERATED_TEXT = /(Code generated .* DO NOT EDIT|@generated|DO NOT EDIT|[Aa]uto-?generated|[Aa]utomatically generated|This file (is|was) generated|[Gg]enerated by (the )?(protoc|swig|bindgen|[Cc]ython|flex|[Bb]ison|babel|tsc|webpack|rollup|Django|PyQt|pyuic|Qt User Interface Compiler|the Rust bindgen|asn1|SWIG|cbindgen|erb|lex|yacc)|generated with|[Gg]enerated from)/;

/** Why a file's text is not readable code, or null when it is. `text` has LF line ends. */
export function rejectReason(rel, text) {
  if (GENERATED_NAME.test(rel)) return 'generated-name';
  if (VENDORED.test(rel)) return 'vendored';
  if (text.length < MIN_CHARS) return 'small';
  if (text.length > MAX_CHARS) return 'large';
  if (text.includes('\u0000')) return 'binary';
  if (text.includes('\uFFFD')) return 'not-utf8';
  if (text.includes('\r')) return 'carriage-return';
  if (text.includes('sourceMappingURL=data:')) return 'sourcemap';
  if (GENERATED_TEXT.test(text.slice(0, 1500))) return 'generated';
  let total = 0;
  let lines = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const len = end - start;
    if (len > MAX_LINE) return 'long-line';
    total += len;
    lines += 1;
    start = end + 1;
  }
  if (total / lines > MAX_MEAN_LINE) return 'dense';
  // tables of numbers, base64 blobs, word lists: little of the file is letters
  let letters = 0;
  for (let i = 0; i < text.length; i += 7) {
    const c = text.charCodeAt(i);
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) letters += 1;
  }
  if (letters / Math.ceil(text.length / 7) < 0.25) return 'data';
  return null;
}

/** The engine sends LF-only text (it normalises CRLF), so training text is LF-only too. */
export function normaliseLineEnds(text) {
  return text.includes('\r\n') ? text.replace(/\r\n/g, '\n') : text;
}

/**
 * npm packages often ship one source file several times (src/, lib/, dist/cjs, dist/esm, esm5 …).
 * Files that share this key are build variants of one another; the best one is kept.
 */
export function variantKey(rel) {
  const noExt = rel.replace(/\.(d\.ts|ts|tsx|mts|cts|js|mjs|cjs|jsx)$/, '');
  return noExt.split('/').filter((p) => !/^(src|lib|dist|build|cjs|esm|esm5|esm2015|es|es5|es6|es2015|es2017|es2020|umd|module|modules|node|browser|types|typings|out|_esm|_cjs|_types|dist-src|dist-types|dist-node|fesm2015|fesm2020|fesm2022|esm2020|esm2022)$/.test(p)).join('/')
    + (rel.endsWith('.d.ts') ? '#d' : '');
}

export function variantPreference(rel) {
  let score = 0;
  if (/(^|\/)src\//.test(rel)) score += 4;
  if (/\.(ts|tsx|mts|cts)$/.test(rel) && !rel.endsWith('.d.ts')) score += 3;
  if (rel.endsWith('.d.ts')) score += 1;
  if (/(^|\/)(cjs|umd)\//.test(rel)) score -= 1;
  return score;
}
