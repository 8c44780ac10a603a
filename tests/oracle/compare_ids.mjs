#!/usr/bin/env node
// tests/oracle/compare_ids.mjs - judges our greedy ids against llama.cpp's
// for the parity tests (host_gguf_parity.sh, host_quantize.sh); prints one
// PASS/FAIL line and exits 1 on FAIL.
//
//   node compare_ids.mjs NAME MODEL OURS.json REF.json STATS N PROMPTS LLM TIE_GAP MAX_TIES STRICT
//
// OURS/REF: the JSON arrays of `llm greedy-ids` / `llama.mjs generate` for
// the prompts of the file PROMPTS (one line of ids each), N ids each; STATS
// (may be "") the --stats output of greedy-ids, for the margins in the PASS
// line. Free-running sequences equal: exact. Otherwise the reference's
// sequence is teacher-forced through our engine (LLM greedy-ids
// --check-ids): at every position where our argmax differs from llama.cpp's
// id, gap = our logit of our argmax minus our logit of llama.cpp's id. All
// gaps <= TIE_GAP (and at most MAX_TIES per prompt) is a numeric near-tie:
// PASS, saying where; anything else is a FAIL. STRICT=1 makes any difference
// a FAIL.
import fs from "fs";
import cp from "child_process";

const [name, model, oursF, refF, statsF, n, promptsF, llm, tieGap, maxTies, strict] =
    process.argv.slice(2);
const ours = JSON.parse(fs.readFileSync(oursF, "utf8"));
const ref = JSON.parse(fs.readFileSync(refF, "utf8"));
const prompts = fs.readFileSync(promptsF, "utf8").trim().split("\n");
const stats = statsF && fs.existsSync(statsF) ? fs.readFileSync(statsF, "utf8") : "";
const m = /margin min (\S+) .*median (\S+)/.exec(stats);
const margins = m ? `, margin min ${m[1]} median ${m[2]}` : "";
const notes = [];
let exact = 0;
for (let k = 0; k < ref.length; k++) {
    const a = ours[k].ids, b = ref[k].ids;
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    if (i === a.length && i === b.length && a.length === Number(n)) {
        exact++;
        continue;
    }
    const head = a.length === b.length && i === a.length
        ? `prompt [${prompts[k]}]: only ${a.length} of ${n} ids (stop ${ref[k].stop})`
        : `prompt [${prompts[k]}]: first difference at position ${i}`;
    const seqs = `\n  ours   ${JSON.stringify(a)}\n  llama  ${JSON.stringify(b)}`;
    let chk = null;
    try {
        chk = JSON.parse(cp.execFileSync(llm, ["greedy-ids", model, "--prompt-ids",
            prompts[k], "--check-ids", b.join(" ")], { encoding: "utf8" }));
    } catch (e) {
        console.log(`FAIL: ${name}: ${head} (and --check-ids failed: ${e.message})${seqs}`);
        process.exit(1);
    }
    const ties = [], real = [];
    for (let p = 0; p < b.length; p++)
        if (chk.top[p] !== b[p])
            (chk.gap[p] <= Number(tieGap) ? ties : real).push(
                `position ${p}: ours ${chk.top[p]}, llama ${b[p]}, gap ${chk.gap[p]}`);
    if (real.length || ties.length > Number(maxTies) || (ties.length && strict === "1") ||
        a.length !== Number(n)) {
        const why = real.length ? `; teacher-forced on llama.cpp ids: ${real.length} ` +
            `real difference(s), first ${real[0]}` : `; ${ties.length} near-tie(s): ${ties.join("; ")}`;
        console.log(`FAIL: ${name}: ${head}${why}${seqs}`);
        process.exit(1);
    }
    notes.push(`[${prompts[k]}] near-tie at ${ties.join("; ")}`);
}
const distinct = new Set(ours.flatMap((o) => o.ids)).size;
const tie = notes.length ? `; ${notes.length} prompt(s) diverged only at a numeric ` +
    `near-tie (gap <= ${tieGap}) and agree teacher-forced: ${notes.join(" | ")}` : "";
console.log(`PASS: ${name} (${exact} of ${ref.length} prompts x ${n} ids equal, ` +
            `${distinct} distinct${margins}${tie})`);
