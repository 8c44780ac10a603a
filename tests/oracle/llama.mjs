#!/usr/bin/env node
// tests/oracle/llama.mjs - llama.cpp as the parity oracle, through the npm
// package node-llama-cpp 3.21.1 (prebuilt CPU binary @node-llama-cpp/linux-x64).
// Install it first with tests/oracle/setup.sh. Prints JSON on stdout only;
// diagnostics go to stderr; exit 1 on any error, 2 on bad usage.
//
//   node llama.mjs generate MODEL.gguf (--prompt-ids "1 403 407" | --prompt TEXT) [--n 50]
//       -> {"ids":[...],"stop":"n"|"eog"}
//   node llama.mjs generate MODEL.gguf --prompt-ids-file F [--n 50]
//       -> [{"ids":[...],"stop":...}, ...]  one per non-empty line of F (ids
//       separated by spaces), all in one process; the KV cache is cleared
//       between prompts.
//       Greedy next tokens (argmax, temperature 0, no repetition/DRY/
//       frequency/presence penalty, no top-k/top-p/min-p, no token bias).
//       Stops after --n tokens or at an end-of-generation token (EOS/EOT),
//       which is then the last id listed (stop "eog"). --prompt-ids are fed
//       as given (include the BOS yourself); --prompt TEXT is tokenized by
//       llama.cpp with parse_special=false and BOS/EOS added as the model's
//       metadata says (add_special=true, see tokenize). Output ids exclude
//       the prompt.
//   node llama.mjs tokenize MODEL.gguf (--text S [--text S ...] | --file F [--sep SEP])
//       [--add-special] [--parse-special]
//       -> [[ids...], ...]   one array per string, in order
//       llama.cpp llama_tokenize(vocab, text, add_special, parse_special)
//       with both false by default (as llama.cpp's test-tokenizer-0 does).
//       --file splits the file on SEP (default "\n"; the ggml vocab test
//       files use --sep '\n__ggml_vocab_test__\n'; backslash escapes \n \t
//       \\ are understood in SEP); a single trailing separator/newline does
//       not start a new string.
//   node llama.mjs logits MODEL.gguf --prompt-ids "..." [--all]
//       -> {"log_softmax":[...vocab floats...]} for the last position, or
//          {"log_softmax":[[...], ...]} for every prompt position with --all.
//       node-llama-cpp exposes no raw logits, only softmax(logits) in float32
//       computed by its addon over the whole vocabulary; we print
//       ln(p) = logit - logsumexp(logits), i.e. the logits up to one additive
//       constant per position: compare after subtracting the max (or compare
//       log-softmax). A probability that underflowed to 0 prints as null.
//   node llama.mjs info MODEL.gguf
//       -> {"bos":..,"eos":..,"add_bos":..,"add_eos":..,"vocab_type":..,...}
//   node llama.mjs bench MODEL.gguf [--prompt-n 128] [--n 256] [--threads N] [--max-seconds S]
//       -> {"prefill":tok/s,"decode":tok/s,"decoded":N,"threads":N}  speed, for
//       scripts/bench.sh: prefill = one batched evaluation of --prompt-n varied
//       token ids, decode = --n greedy tokens one at a time after it (an end-of-
//       generation token just restarts the evaluation with another id), or
//       as many as S seconds allow (the rate is over the tokens decoded).
//       KV cache f16 here unless --kv-type is given (llama.cpp's default).
//
// Common options:
//   --vocab-only       load only the vocabulary (tokenize/info on vocab-only GGUFs);
//                      tokenize and info use it by default
//   --ctx N            context size (default: prompt length + n, llama.cpp pads to 256)
//   --kv-type f32|f16  KV cache element type (default f32, closest to an fp32
//                      reference implementation; llama.cpp's own default is f16)
//   --threads N        default 1 (faster than 2 on these small models here)
//   --mmap             map the model file (default: read it, useMmap=false)
//
// llama.cpp settings used: CPU only (gpu:false, gpuLayers 0), flash attention
// off, 1 sequence, no context shift beyond the requested size (we refuse
// instead), prebuilt binary only (build:"never", skipDownload:true): nothing
// is ever downloaded or compiled at run time.

import path from "node:path";
import fs from "node:fs";
import { fileURLToPath } from "node:url";

// Read by node-llama-cpp's config at import time: never download/build.
process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD = "true";
process.env.NODE_LLAMA_CPP_GPU = "false";

const here = path.dirname(fileURLToPath(import.meta.url));

function usage(msg) {
    if (msg) process.stderr.write(`llama.mjs: ${msg}\n`);
    process.stderr.write(
        "usage: node llama.mjs generate MODEL (--prompt-ids \"1 2 3\" | --prompt TEXT | --prompt-ids-file F) [--n N]\n" +
        "       node llama.mjs tokenize MODEL (--text S ... | --file F [--sep SEP]) [--add-special] [--parse-special]\n" +
        "       node llama.mjs logits MODEL --prompt-ids \"...\" [--all]\n" +
        "       node llama.mjs info MODEL\n" +
        "       node llama.mjs bench MODEL [--prompt-n 128] [--n 256] [--max-seconds S]\n" +
        "options: --ctx N --kv-type f32|f16 --threads N --mmap --vocab-only\n");
    process.exit(2);
}

// llama.cpp's own log lines (level error and worse). node-llama-cpp's memory
// estimator simulates loading the whole model even with vocabOnly, so a
// vocab-only GGUF logs "missing tensor 'token_embd.weight'" although the
// real load works: keep the lines and show them only when we fail (or with
// LLAMA_ORACLE_VERBOSE=1).
const llamaLog = [];
const verbose = process.env.LLAMA_ORACLE_VERBOSE === "1";

function fail(msg) {
    for (const l of llamaLog) process.stderr.write(l + "\n");
    process.stderr.write(`llama.mjs: ${msg}\n`);
    process.exit(1);
}

function unescape(s) {
    return s.replace(/\\(.)/g, (_, c) => ({ n: "\n", t: "\t", r: "\r", "\\": "\\" })[c] ?? "\\" + c);
}

function parseArgs(argv) {
    const [cmd, model, ...rest] = argv;
    if (!cmd || cmd === "-h" || cmd === "--help") usage();
    if (!model) usage("missing MODEL");
    const o = {
        cmd, model, texts: [], file: null, sep: "\n", promptIds: null, prompt: null, promptIdsFile: null,
        n: null, promptN: 128, maxSeconds: 0, ctx: null, kvType: null, threads: 1, mmap: false, vocabOnly: null,
        addSpecial: false, parseSpecial: false, all: false,
    };
    for (let i = 0; i < rest.length; i++) {
        const a = rest[i];
        const val = () => {
            if (i + 1 >= rest.length) usage(`${a} needs a value`);
            return rest[++i];
        };
        const int = (v, min) => {
            if (!/^\d+$/.test(v) || Number(v) < min) usage(`${a}: bad number ${JSON.stringify(v)}`);
            return Number(v);
        };
        switch (a) {
            case "--text": o.texts.push(val()); break;
            case "--file": o.file = val(); break;
            case "--sep": o.sep = unescape(val()); break;
            case "--prompt-ids": {
                const v = val().trim();
                o.promptIds = v === "" ? [] : v.split(/[\s,]+/).map((x) => int(x, 0));
                break;
            }
            case "--prompt": o.prompt = val(); break;
            case "--prompt-ids-file": o.promptIdsFile = val(); break;
            case "--n": o.n = int(val(), 0); break;
            case "--prompt-n": o.promptN = int(val(), 1); break;
            case "--max-seconds": o.maxSeconds = int(val(), 1); break;
            case "--ctx": o.ctx = int(val(), 1); break;
            case "--kv-type": {
                const v = val().toLowerCase();
                if (v !== "f32" && v !== "f16") usage("--kv-type is f32 or f16");
                o.kvType = v;
                break;
            }
            case "--threads": o.threads = int(val(), 1); break;
            case "--mmap": o.mmap = true; break;
            case "--vocab-only": o.vocabOnly = true; break;
            case "--add-special": o.addSpecial = true; break;
            case "--parse-special": o.parseSpecial = true; break;
            case "--all": o.all = true; break;
            default: usage(`unknown argument ${JSON.stringify(a)}`);
        }
    }
    if (o.vocabOnly == null) o.vocabOnly = cmd === "tokenize" || cmd === "info";
    o.n ??= cmd === "bench" ? 256 : 50;
    o.kvType ??= cmd === "bench" ? "f16" : "f32";
    return o;
}

async function loadLib() {
    // Node 18 (Debian 12's nodejs) cannot even parse node-llama-cpp 3.21.1
    // ("SyntaxError: Invalid regular expression flags": it uses the /v flag).
    if (Number(process.versions.node.split(".")[0]) < 20)
        fail(`node ${process.version} is too old: node-llama-cpp 3.21.1 needs Node.js >= 20`);
    try {
        return await import("node-llama-cpp");
    } catch (err) {
        fail(`cannot load node-llama-cpp from ${here}/node_modules (${err.code || err.message}); ` +
            "run tests/oracle/setup.sh first");
    }
}

async function openModel(lib, o) {
    if (!fs.existsSync(o.model)) fail(`model file not found: ${o.model}`);
    const llama = await lib.getLlama({
        gpu: false,
        build: "never",            // never compile llama.cpp from source
        skipDownload: true,        // never fetch llama.cpp sources/binaries
        usePrebuiltBinaries: true, // @node-llama-cpp/linux-x64
        progressLogs: false,
        maxThreads: o.threads,
        logLevel: lib.LlamaLogLevel.error,
        logger: (level, message) => llamaLog.push(`llama.cpp [${level}]: ${message.trimEnd()}`),
    });
    const model = await llama.loadModel({
        modelPath: path.resolve(o.model),
        gpuLayers: 0,
        vocabOnly: o.vocabOnly,
        useMmap: o.mmap,
        useMlock: false,
        checkTensors: false,
    });
    return { llama, model };
}

// llama_tokenize(vocab, text, add_special, parse_special). node-llama-cpp's
// model.tokenize(text, specialTokens) calls common_tokenize(vocab, text,
// add_special=false, parse_special=specialTokens) and returns [] for "".
// add_special=true is emulated exactly as llama.cpp does it for the SPM and
// BPE vocabularies: BOS first when llama_vocab_get_add_bos, EOS last when
// llama_vocab_get_add_eos (the SPM dummy-prefix space is added either way).
function tokenize(model, text, addSpecial, parseSpecial) {
    const ids = Array.from(model.tokenize(text, parseSpecial));
    if (addSpecial) {
        const vt = model.vocabularyType;
        if (vt !== "spm" && vt !== "bpe")
            fail(`--add-special is only emulated for spm/bpe vocabularies, not ${vt}`);
        if (model.tokens.shouldPrependBosToken && model.tokens.bos != null) ids.unshift(model.tokens.bos);
        if (model.tokens.shouldAppendEosToken && model.tokens.eos != null) ids.push(model.tokens.eos);
    }
    return ids;
}

function vocabSize(model) {
    const n = model.fileInfo?.metadata?.tokenizer?.ggml?.tokens?.length;
    if (typeof n !== "number") fail("cannot tell the vocabulary size (no tokenizer.ggml.tokens)");
    return n;
}

function checkIds(model, ids) {
    const nv = vocabSize(model);
    for (const t of ids)
        if (t >= nv) fail(`token id ${t} out of range (vocabulary has ${nv} tokens)`);
}

async function makeSequence(lib, model, o, need) {
    const contextSize = o.ctx ?? Math.max(need, 1);
    if (need > contextSize) fail(`prompt + tokens (${need}) exceed --ctx ${contextSize}`);
    const kv = o.kvType === "f32" ? "F32" : "F16";
    const context = await model.createContext({
        contextSize,
        batchSize: Math.min(Math.max(need, 1), 512),
        sequences: 1,
        threads: o.threads,
        flashAttention: false,
        experimentalKvCacheKeyType: kv,
        experimentalKvCacheValueType: kv,
    });
    if (context.contextSize < need) fail(`context of ${context.contextSize} tokens is smaller than ${need}`);
    return { context, sequence: context.getSequence() };
}

async function cmdGenerate(lib, o) {
    const given = [o.promptIds, o.prompt, o.promptIdsFile].filter((x) => x != null).length;
    if (given !== 1) usage("generate needs exactly one of --prompt-ids / --prompt / --prompt-ids-file");
    const { model } = await openModel(lib, o);
    let prompts;
    if (o.promptIdsFile != null) {
        prompts = fs.readFileSync(o.promptIdsFile, "utf8").split("\n")
            .filter((l) => l.trim() !== "")
            .map((l) => l.trim().split(/[\s,]+/).map((x) => {
                if (!/^\d+$/.test(x)) fail(`${o.promptIdsFile}: bad token id ${JSON.stringify(x)}`);
                return Number(x);
            }));
        if (!prompts.length) fail(`${o.promptIdsFile}: no prompts`);
    } else {
        prompts = [o.promptIds ?? tokenize(model, o.prompt, true, false)];
    }
    for (const p of prompts) {
        if (p.length === 0) fail("empty prompt: give at least one token (BOS)");
        checkIds(model, p);
    }
    const results = prompts.map(() => ({ ids: [], stop: "n" }));
    if (o.n > 0) {
        const need = Math.max(...prompts.map((p) => p.length)) + o.n;
        const { sequence } = await makeSequence(lib, model, o, need);
        for (let k = 0; k < prompts.length; k++) {
            const out = results[k];
            await sequence.clearHistory(); // each prompt starts from an empty KV cache
            // Greedy: temperature 0 makes the addon's sampler chain a single
            // llama_sampler_init_greedy() (argmax, first index on ties); with
            // no repeatPenalty/dryRepeatPenalty/tokenBias/grammar options no
            // other sampler is added. yieldEogToken lets us report the EOS.
            const gen = sequence.evaluate(prompts[k], { temperature: 0, yieldEogToken: true });
            for await (const tok of gen) {
                out.ids.push(tok);
                if (model.isEogToken(tok)) { out.stop = "eog"; break; }
                if (out.ids.length >= o.n) break;
            }
            if (sequence.nextTokenIndex > sequence.contextSize) fail("context shift happened; raise --ctx");
        }
    }
    if (o.prompt != null) results[0].prompt_ids = prompts[0];
    return o.promptIdsFile != null ? results : results[0];
}

async function cmdTokenize(lib, o) {
    let texts = o.texts;
    if (o.file != null) {
        if (texts.length) usage("use --text or --file, not both");
        let s = fs.readFileSync(o.file, "utf8");
        if (s.endsWith(o.sep)) s = s.slice(0, -o.sep.length);
        texts = s.split(o.sep);
    }
    if (!texts.length) usage("tokenize needs --text or --file");
    const { model } = await openModel(lib, o);
    return texts.map((t) => tokenize(model, t, o.addSpecial, o.parseSpecial));
}

async function cmdLogits(lib, o) {
    if (o.promptIds == null || o.promptIds.length === 0) usage("logits needs --prompt-ids with at least one id");
    const { model } = await openModel(lib, o);
    checkIds(model, o.promptIds);
    const { sequence } = await makeSequence(lib, model, o, o.promptIds.length);
    const nVocab = vocabSize(model);
    const rows = [];
    // controlledEvaluate returns, for the marked positions, the softmax over
    // the whole vocabulary of the raw logits (greedy chain: nothing changes
    // the logits before the softmax).
    const input = o.promptIds.map((t, i) =>
        (o.all || i === o.promptIds.length - 1)
            ? [t, { generateNext: { probabilities: true, options: { temperature: 0 } } }]
            : t);
    const res = await sequence.controlledEvaluate(input);
    for (let i = 0; i < res.length; i++) {
        const r = res[i];
        if (r?.next?.probabilities == null) continue;
        const row = new Array(nVocab).fill(null);
        for (const [tok, p] of r.next.probabilities) row[tok] = p > 0 ? Math.log(p) : null;
        rows.push(row);
    }
    return { log_softmax: o.all ? rows : rows[rows.length - 1] };
}

async function cmdInfo(lib, o) {
    const { model } = await openModel(lib, o);
    const t = model.tokens;
    return {
        vocab_type: model.vocabularyType,
        n_vocab: vocabSize(model),
        bos: t.bos, eos: t.eos, eot: t.eot, nl: t.nl,
        add_bos: t.shouldPrependBosToken, add_eos: t.shouldAppendEosToken,
        architecture: model.fileInfo.metadata?.general?.architecture ?? null,
        train_context_size: o.vocabOnly ? null : model.trainContextSize,
    };
}

const o = parseArgs(process.argv.slice(2));
async function cmdBench(lib, o) {
    const { model } = await openModel(lib, o);
    const nv = vocabSize(model);
    const prompt = [model.tokens.bos ?? 1];
    for (let i = 1, seed = 1; i < o.promptN; i++) { // varied ids, as llm bench uses
        seed = (seed * 1664525 + 1013904223) >>> 0;
        prompt.push(seed % nv);
    }
    const { sequence } = await makeSequence(lib, model, o, o.promptN + o.n + 1);
    const t0 = performance.now();
    await sequence.evaluateWithoutGeneratingNewTokens(prompt);
    const t1 = performance.now();
    let done = 0, tok = prompt[prompt.length - 1];
    const late = () => o.maxSeconds > 0 && performance.now() - t1 > o.maxSeconds * 1e3;
    while (done < o.n && !late()) {
        const gen = sequence.evaluate([tok], { temperature: 0, yieldEogToken: true });
        for await (const t of gen) {
            done++;
            tok = t;
            if (model.isEogToken(t)) { tok = 3 + (done % (nv - 3)); break; }
            if (done >= o.n || late()) break;
        }
    }
    const t2 = performance.now();
    return { prefill: o.promptN / ((t1 - t0) / 1e3), decode: done / ((t2 - t1) / 1e3), decoded: done,
             threads: o.threads };
}

const cmds = { generate: cmdGenerate, tokenize: cmdTokenize, logits: cmdLogits, info: cmdInfo, bench: cmdBench };
if (!cmds[o.cmd]) usage(`unknown command ${JSON.stringify(o.cmd)}`);
const lib = await loadLib();
try {
    const result = await cmds[o.cmd](lib, o);
    if (verbose) for (const l of llamaLog) process.stderr.write(l + "\n");
    // Native handles keep the event loop alive for a while: exit once the
    // JSON has been flushed.
    process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
} catch (err) {
    fail(err?.stack || String(err));
}
