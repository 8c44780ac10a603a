/* template.h - chat prompt templates: how a conversation is written as text
 * for an instruction-tuned model, plus system prompt, few-shot examples and
 * a chain-of-thought switch.
 *
 * A chat is one growing text that stays in the KV cache (no re-prefill):
 *
 *   turn 1:  template_render_user(t, o, 1, user1)  -> prefill, generate reply1
 *            history += reply1 + template_end_of_reply(t)
 *   turn 2:  template_render_user(t, o, 0, user2)  -> prefill, generate ...
 *
 * Special tokens are written as their text ("<s>", "</s>", "<|im_start|>",
 * "<|begin_of_text|>", "<|eot_id|>", ...). The caller tokenizes every
 * rendering and end-of-reply text WITH special-token parsing on, so these
 * markers become the single special ids of the vocabulary. (The same holds
 * for markers a user types: there is no trust boundary between the person at
 * the keyboard and the prompt, so this is accepted, not escaped.)
 *
 * BOS: when TEMPLATE_F_BOS_IN_TEXT is set (llama2, mistral, llama3) the
 * renderings contain the BOS marker(s) exactly where the official format puts
 * them; the caller must then NOT add a BOS of its own. Otherwise the caller
 * starts the conversation with the model's BOS as for a plain prompt (when
 * the vocabulary wants one, e.g. GGUF tokenizer.ggml.add_bos_token).
 *
 * Generation: stop at the model's EOS, or when the decoded text (special
 * tokens decoded as their text) contains one of template_stop_strings(t).
 * The stop string is not part of the reply: the caller drops it from the
 * history (rewinds the KV cache to before the token that began it) and then
 * appends template_end_of_reply(t). That text is appended after every reply,
 * however generation ended (EOS, stop string, step limit); an EOS the model
 * sampled is not fed back, end_of_reply supplies the format's own one.
 *
 * The built-in templates (name, then case-insensitive aliases; when matching
 * names, every character other than ASCII letters and digits is ignored, so
 * "Llama-2", "llama_2" and "LLAMA2" are the same). "U" is the user text,
 * "S" the system prompt, "R" the reply the model writes:
 *
 *   raw (none)   U                                     (text as typed)
 *   alpaca       [S\n\n]### Instruction:\nU\n\n### Response:\n   R\n\n
 *   llama2       <s>[INST] [<<SYS>>\nS\n<</SYS>>\n\n]U [/INST]  " R </s>"
 *                later turns: <s>[INST] U [/INST]
 *   mistral      <s>[INST] [S\n\n]U [/INST]            " R</s>"
 *                later turns: [INST] U [/INST]
 *   chatml (qwen, qwen2)
 *                [<|im_start|>system\nS<|im_end|>\n]<|im_start|>user\nU<|im_end|>\n
 *                <|im_start|>assistant\n               R<|im_end|>\n
 *   zephyr (tinyllama)
 *                [<|system|>\nS</s>\n]<|user|>\nU</s>\n<|assistant|>\n   R</s>\n
 *   llama3       <|begin_of_text|>[<|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>]
 *                <|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|>
 *                <|start_header_id|>assistant<|end_header_id|>\n\n   R<|eot_id|>
 *   phi2 (phi)   Instruct: [S\n\n]U\nOutput:             " R\n"
 *   qa           [S\n\n]Q: U\nA:                        " R\n"
 *   user-assistant (ua)
 *                [S\n\n]User: U\nAssistant:             " R\n"
 * ("[...]" appears only with a system prompt, on the first turn; " R" means
 * the model's reply starts with a space, which SentencePiece/BPE vocabularies
 * produce themselves.) The system prompt is a block of its own where the
 * format has a system role (chatml, zephyr, llama3), inside the first user
 * message where the official format puts it there or has no system role
 * (llama2's <<SYS>>; mistral and phi2 fold it in, followed by a blank line),
 * and a preamble paragraph for the plain-text formats (raw, alpaca, qa,
 * user-assistant; alpaca's classic "Below is an instruction..." line is such a
 * preamble and is not added by default). System prompt and user text are
 * trimmed of surrounding whitespace, except the user text of raw.
 */
#ifndef TEMPLATE_H
#define TEMPLATE_H

#include <stddef.h>

/* ---- few-shot examples -----------------------------------------------------
 * A text file on the volume, read into memory by the caller, with question
 * and answer pairs:
 *
 *   Q: What is 2 + 3?
 *   A: 5
 *
 *   User: Name a colour.
 *   Assistant: Blue.
 *
 * - a line whose first non-blank characters are "Q:" or "User:" starts a
 *   question; "A:" or "Assistant:" starts its answer (exactly these
 *   spellings; the kinds may be mixed). The text after the marker, and the
 *   lines that follow up to the next marker line, are the question/answer:
 *   parts may span several lines (a line inside one therefore cannot start
 *   with a marker). Surrounding blank lines and blanks are trimmed.
 * - LF or CRLF; a UTF-8 BOM is skipped. Text must be UTF-8 without control
 *   characters other than TAB.
 * - errors (ERR_FORMAT, with the 1-based line number): text before the first
 *   question, an answer without a question, a question without an answer
 *   (also at the end of the file), an empty question or answer, bad UTF-8 or
 *   control characters; a file without any pair (line 0).
 *   ERR_RANGE: more than FEW_SHOT_MAX pairs (line of the first extra one) or
 *   a file over FEW_SHOT_FILE_MAX bytes (line 0).
 *
 * Rendering: on the first turn the pairs become prior turns of the chosen
 * template (question as a user turn, answer as an assistant reply with the
 * format's end-of-reply), after the system prompt and before the user's
 * first message. The raw template, which has no turn structure, inserts the
 * file's text as written (trimmed, CRs removed) followed by a blank line.
 */
#define FEW_SHOT_MAX 16
#define FEW_SHOT_FILE_MAX (32 * 1024)

struct few_shot_pair {
    const char *q, *a;  /* spans into the parsed text; may contain "\r\n" */
    size_t q_len, a_len;
};

struct few_shot {
    const char *text; /* the pairs' whole span (trimmed), for raw */
    size_t text_len;
    int count;
    struct few_shot_pair pairs[FEW_SHOT_MAX];
};

/* Parses len bytes of examples text (caller-owned, need not be
 * NUL-terminated). *ret then points into text: the caller keeps text alive
 * and unchanged while *ret is used. Returns 0, ERR_FORMAT, ERR_RANGE or
 * ERR_INVAL (NULL arguments); *ret is written only on success, *err_line
 * (may be NULL) only on failure. */
int few_shot_parse(struct few_shot *ret, const char *text, size_t len, int *err_line);

/* ---- templates ------------------------------------------------------------ */

enum {
    TEMPLATE_F_BOS_IN_TEXT = 1u << 0,   /* renderings carry the BOS marker(s) */
    TEMPLATE_F_SYSTEM_IN_USER = 1u << 1 /* S goes inside the first user turn */
};

/* Chain of thought (chat_opts.cot). The instruction is TEMPLATE_COT_TEXT.
 *   USER:  appended to the user's message on a line of its own
 *          ("Q: What is 17*23?\nLet's think step by step.\nA:"); the
 *          model decides how to reason. Robust for chat models.
 *   REPLY: the assistant's reply is begun with it, as in zero-shot CoT
 *          ("Q: What is 17*23?\nA: Let's think step by step."); the model
 *          continues the sentence. Strongest for base models. The text is
 *          then part of the history like the rest of the reply.
 * For raw (no assistant prefix) both modes append "\n" + the instruction
 * to the text. Examples never get it, only the user's own message. */
enum { TEMPLATE_COT_OFF = 0, TEMPLATE_COT_USER = 1, TEMPLATE_COT_REPLY = 2 };
#define TEMPLATE_COT_TEXT "Let's think step by step."

/* One format; all strings are static and non-NULL ("" when absent). */
struct chat_template {
    const char *name;           /* canonical, lower case: "chatml" */
    const char *const *aliases; /* NULL-terminated other names */
    const char *description;    /* one line for listings */
    unsigned flags;             /* TEMPLATE_F_* */
    const char *bos;            /* once, at the start of the conversation */
    const char *sys_begin;      /* around the system prompt */
    const char *sys_end;
    const char *user_begin;     /* around every user message */
    const char *user_end;
    const char *assistant;      /* assistant prefix the model continues from */
    const char *reply_lead;     /* what the model writes before a reply (" ") */
    const char *end_of_reply;   /* appended to the history after a reply */
    const char *const *stops;   /* NULL-terminated stop strings */
};

struct chat_opts {
    const char *system;              /* NULL or "" (after trimming): none */
    const struct few_shot *few_shot; /* NULL or count 0: none */
    int cot;                         /* TEMPLATE_COT_* */
};

/* Built-in templates by name or alias (see above); NULL if unknown. */
const struct chat_template *template_find(const char *name);

/* Recognises a GGUF tokenizer.chat_template Jinja string (len bytes,
 * untrusted, need not be NUL-terminated) by distinctive substrings:
 *   "<|start_header_id|>"                         -> llama3
 *   "<|im_start|>" (not Phi-4's "<|im_sep|>")     -> chatml
 *   "[INST]" with "<<SYS>>"                       -> llama2
 *   "[INST]" without it (Mistral-Instruct)        -> mistral
 *   "<|user|>" + "<|assistant|>" + eos ("eos_token" or "</s>"),
 *       not Phi-3's "<|end|>"                     -> zephyr
 *   "### Instruction"                             -> alpaca
 *   "Instruct:" + "Output:"                       -> phi2
 * in that order. Anything else (and NULL/empty) gives NULL: the caller falls
 * back to the configured template or a family default. */
const struct chat_template *template_detect(const char *jinja, size_t len);

/* The built-ins in listing order (0 is raw); template_at returns NULL when i
 * is out of range. */
int template_count(void);
const struct chat_template *template_at(int i);

/* Renders the text to append to the conversation for a new user message.
 * first_turn != 0: the start of the conversation, i.e. the BOS marker
 * (TEMPLATE_F_BOS_IN_TEXT), the system prompt and the few-shot examples as
 * the format wants them, then the message; later turns render the message
 * only (o->system and o->few_shot are ignored). Always ends with the
 * assistant prefix (plus the CoT text in REPLY mode).
 * o may be NULL (no options). out (caller-owned, cap bytes) receives the
 * NUL-terminated text. Returns its length (without the NUL), or:
 *   ERR_RANGE  out too small (len + 1 > cap); out is then "" if cap > 0,
 *              never a partial rendering. out == NULL with cap == 0 only
 *              measures: it returns the length needed (without the NUL).
 *              Also for a length over INT_MAX.
 *   ERR_INVAL  NULL t or user, bad cot value, out == NULL with cap > 0.
 *   ERR_FORMAT o->few_shot is malformed (count out of range, NULL spans). */
int template_render_user(const struct chat_template *t, const struct chat_opts *o,
                         int first_turn, const char *user, char *out, size_t cap);

/* Accessors (t != NULL). */
const char *template_name(const struct chat_template *t);
/* The text that closes an assistant turn in the history: "<|im_end|>\n". */
const char *template_end_of_reply(const struct chat_template *t);
/* NULL-terminated stop strings (an empty list for raw), in addition to EOS. */
const char *const *template_stop_strings(const struct chat_template *t);
/* 1 if the renderings carry the BOS marker (caller adds no BOS), else 0. */
int template_bos_in_text(const struct chat_template *t);

#endif
