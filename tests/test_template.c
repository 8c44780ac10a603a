/* test_template.c - chat templates: exact renderings, whole transcripts
 * against the models' own chat templates, GGUF chat_template detection,
 * few-shot files and buffer limits. */
#include "testlib.h"

#include "errors.h"
#include "lib.h"
#include "template.h"

/* ---- helpers -------------------------------------------------------------- */

/* Renders into a heap buffer of exactly cap bytes (so ASan sees overruns). */
static int render(const char *name, const struct chat_opts *o, int first, const char *user,
                  char *out, size_t outcap)
{
    const struct chat_template *t = template_find(name);
    if (!t)
        return -1000;
    return template_render_user(t, o, first, user, out, outcap);
}

/* Checks one rendering, and that its length is what measuring says. */
#define CHECK_RENDER(name, o, first, user, expected)                              \
    do {                                                                          \
        char buf_[4096];                                                          \
        int n_ = render(name, o, first, user, buf_, sizeof(buf_));                \
        CHECK_MSG(n_ >= 0, "%s: rc %d", name, n_);                                \
        if (n_ >= 0) {                                                            \
            CHECK_STR(buf_, expected);                                            \
            CHECK_INT(n_, strlen(buf_));                                          \
            CHECK_INT(render(name, o, first, user, NULL, 0), n_);                 \
        }                                                                         \
    } while (0)

static const char examples_file[] =
    "Q: What is 2 + 3?\r\n"
    "A: 5\r\n"
    "\r\n"
    "User: Name a colour.\r\n"
    "Assistant: Blue.\r\n";

static struct few_shot examples(void)
{
    struct few_shot fs;
    memset(&fs, 0, sizeof(fs)); /* no examples if parsing fails */
    int rc = few_shot_parse(&fs, examples_file, strlen(examples_file), NULL);
    CHECK_INT(rc, 0);
    return fs;
}

/* ---- names ---------------------------------------------------------------- */

TEST(template_names)
{
    static const char *const names[] = {"raw", "alpaca", "llama2", "mistral", "chatml",
                                        "zephyr", "llama3", "phi2", "qa", "user-assistant"};
    CHECK_INT(template_count(), ARRAY_LEN(names));
    for (int i = 0; i < template_count(); i++) {
        const struct chat_template *t = template_at(i);
        CHECK(t != NULL);
        if (!t)
            continue;
        CHECK_STR(template_name(t), names[i]);
        CHECK(template_find(t->name) == t);
        for (const char *const *a = t->aliases; *a; a++)
            CHECK_MSG(template_find(*a) == t, "alias %s", *a);
        CHECK(t->description && *t->description);
        CHECK(t->bos && t->sys_begin && t->sys_end && t->user_begin && t->user_end &&
              t->assistant && t->reply_lead && t->end_of_reply);
        CHECK(template_stop_strings(t) != NULL);
        for (const char *const *s = template_stop_strings(t); *s; s++)
            CHECK(**s);
        CHECK_STR(template_end_of_reply(t), t->end_of_reply);
    }
    CHECK(template_at(-1) == NULL);
    CHECK(template_at(template_count()) == NULL);

    struct { const char *in, *canon; } cases[] = {
        {"ChatML", "chatml"},       {"QWEN2", "chatml"},         {"qwen", "chatml"},
        {"Llama-2", "llama2"},      {"llama_2", "llama2"},       {"LLAMA2-CHAT", "llama2"},
        {"TinyLlama", "zephyr"},    {"Zephyr", "zephyr"},        {"none", "raw"},
        {"RAW", "raw"},             {"Q/A", "qa"},               {"q&a", "qa"},
        {"User/Assistant", "user-assistant"}, {"UA", "user-assistant"},
        {"phi-2", "phi2"},          {"Phi", "phi2"},             {"Llama 3", "llama3"},
        {"mistral-instruct", "mistral"}, {" alpaca ", "alpaca"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const struct chat_template *t = template_find(cases[i].in);
        CHECK_MSG(t && strcmp(t->name, cases[i].canon) == 0, "%s", cases[i].in);
    }
    static const char *const unknown[] = {"", "-", " ", "llama", "llama23", "gpt", "chatmlx",
                                          "q", "user"};
    for (size_t i = 0; i < ARRAY_LEN(unknown); i++)
        CHECK_MSG(template_find(unknown[i]) == NULL, "'%s'", unknown[i]);
    CHECK(template_find(NULL) == NULL);

    CHECK_INT(template_bos_in_text(template_find("llama2")), 1);
    CHECK_INT(template_bos_in_text(template_find("mistral")), 1);
    CHECK_INT(template_bos_in_text(template_find("llama3")), 1);
    CHECK_INT(template_bos_in_text(template_find("chatml")), 0);
    CHECK_INT(template_bos_in_text(template_find("zephyr")), 0);
    CHECK_INT(template_bos_in_text(template_find("raw")), 0);
    CHECK_STR(template_end_of_reply(template_find("chatml")), "<|im_end|>\n");
    CHECK_STR(template_stop_strings(template_find("chatml"))[0], "<|im_end|>");
    CHECK(template_stop_strings(template_find("raw"))[0] == NULL);
    CHECK_STR(template_stop_strings(template_find("llama3"))[0], "<|eot_id|>");
    CHECK_STR(template_stop_strings(template_find("qa"))[0], "\nQ:");
    CHECK_STR(template_stop_strings(template_find("ua"))[0], "\nUser:");
}

/* ---- renderings ----------------------------------------------------------- */

struct case_ {
    const char *name;
    const char *plain;  /* first turn, "Hello", no options */
    const char *system; /* first turn, system "Be brief." */
    const char *later;  /* later turn "Who are you?" (options ignored) */
};

static const struct case_ basic[] = {
    {"raw", "Hello", "Be brief.\n\nHello", "Who are you?"},
    {"alpaca", "### Instruction:\nHello\n\n### Response:\n",
     "Be brief.\n\n### Instruction:\nHello\n\n### Response:\n",
     "### Instruction:\nWho are you?\n\n### Response:\n"},
    {"llama2", "<s>[INST] Hello [/INST]",
     "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHello [/INST]",
     "<s>[INST] Who are you? [/INST]"},
    {"mistral", "<s>[INST] Hello [/INST]", "<s>[INST] Be brief.\n\nHello [/INST]",
     "[INST] Who are you? [/INST]"},
    {"chatml", "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
     "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
     "<|im_start|>assistant\n",
     "<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n"},
    {"zephyr", "<|user|>\nHello</s>\n<|assistant|>\n",
     "<|system|>\nBe brief.</s>\n<|user|>\nHello</s>\n<|assistant|>\n",
     "<|user|>\nWho are you?</s>\n<|assistant|>\n"},
    {"llama3",
     "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
     "<|start_header_id|>assistant<|end_header_id|>\n\n",
     "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
     "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
     "<|start_header_id|>assistant<|end_header_id|>\n\n",
     "<|start_header_id|>user<|end_header_id|>\n\nWho are you?<|eot_id|>"
     "<|start_header_id|>assistant<|end_header_id|>\n\n"},
    {"phi2", "Instruct: Hello\nOutput:", "Instruct: Be brief.\n\nHello\nOutput:",
     "Instruct: Who are you?\nOutput:"},
    {"qa", "Q: Hello\nA:", "Be brief.\n\nQ: Hello\nA:", "Q: Who are you?\nA:"},
    {"user-assistant", "User: Hello\nAssistant:", "Be brief.\n\nUser: Hello\nAssistant:",
     "User: Who are you?\nAssistant:"},
};

TEST(template_render_basic)
{
    struct few_shot fs = examples();
    struct chat_opts sys = {"Be brief.", NULL, 0};
    struct chat_opts sys_padded = {"  \n Be brief. \n", NULL, 0};
    struct chat_opts empty_sys = {" \t\n", NULL, 0};
    struct chat_opts all = {"Be brief.", &fs, TEMPLATE_COT_OFF};
    for (size_t i = 0; i < ARRAY_LEN(basic); i++) {
        const struct case_ *c = &basic[i];
        CHECK_RENDER(c->name, NULL, 1, "Hello", c->plain);
        CHECK_RENDER(c->name, &empty_sys, 1, "Hello", c->plain);
        CHECK_RENDER(c->name, &sys, 1, "Hello", c->system);
        CHECK_RENDER(c->name, &sys_padded, 1, "Hello", c->system);
        CHECK_RENDER(c->name, NULL, 0, "Who are you?", c->later);
        /* system prompt and examples belong to the first turn only */
        CHECK_RENDER(c->name, &all, 0, "Who are you?", c->later);
        if (strcmp(c->name, "raw") != 0) /* user text is trimmed */
            CHECK_RENDER(c->name, &sys, 1, " \tHello \n", c->system);
    }
    /* raw keeps the text exactly as typed */
    CHECK_RENDER("raw", NULL, 1, " Once upon a time ", " Once upon a time ");
    CHECK_RENDER("raw", NULL, 0, "", "");
    CHECK_RENDER("chatml", NULL, 1, "",
                 "<|im_start|>user\n<|im_end|>\n<|im_start|>assistant\n");
    /* Phi-2 model card example */
    CHECK_RENDER("phi2", NULL, 1,
                 "Write a detailed analogy between mathematics and a lighthouse.",
                 "Instruct: Write a detailed analogy between mathematics and a lighthouse.\n"
                 "Output:");
}

/* First turn with system prompt, the two examples and CoT in the user turn;
 * then examples only with CoT as the start of the reply. */
struct fs_case {
    const char *name, *sys_fs_cot_user, *fs_cot_reply;
};

static const struct fs_case fs_cases[] = {
    {"raw",
     "Be brief.\n\nQ: What is 2 + 3?\nA: 5\n\nUser: Name a colour.\nAssistant: Blue.\n\n"
     "What is 17 * 23?\nLet's think step by step.",
     "Q: What is 2 + 3?\nA: 5\n\nUser: Name a colour.\nAssistant: Blue.\n\n"
     "What is 17 * 23?\nLet's think step by step."},
    {"alpaca",
     "Be brief.\n\n### Instruction:\nWhat is 2 + 3?\n\n### Response:\n5\n\n"
     "### Instruction:\nName a colour.\n\n### Response:\nBlue.\n\n"
     "### Instruction:\nWhat is 17 * 23?\nLet's think step by step.\n\n### Response:\n",
     "### Instruction:\nWhat is 2 + 3?\n\n### Response:\n5\n\n"
     "### Instruction:\nName a colour.\n\n### Response:\nBlue.\n\n"
     "### Instruction:\nWhat is 17 * 23?\n\n### Response:\nLet's think step by step."},
    {"llama2",
     "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nWhat is 2 + 3? [/INST] 5 </s>"
     "<s>[INST] Name a colour. [/INST] Blue. </s>"
     "<s>[INST] What is 17 * 23?\nLet's think step by step. [/INST]",
     "<s>[INST] What is 2 + 3? [/INST] 5 </s><s>[INST] Name a colour. [/INST] Blue. </s>"
     "<s>[INST] What is 17 * 23? [/INST] Let's think step by step."},
    {"mistral",
     "<s>[INST] Be brief.\n\nWhat is 2 + 3? [/INST] 5</s>[INST] Name a colour. [/INST] Blue.</s>"
     "[INST] What is 17 * 23?\nLet's think step by step. [/INST]",
     "<s>[INST] What is 2 + 3? [/INST] 5</s>[INST] Name a colour. [/INST] Blue.</s>"
     "[INST] What is 17 * 23? [/INST] Let's think step by step."},
    {"chatml",
     "<|im_start|>system\nBe brief.<|im_end|>\n"
     "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n5<|im_end|>\n"
     "<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\nBlue.<|im_end|>\n"
     "<|im_start|>user\nWhat is 17 * 23?\nLet's think step by step.<|im_end|>\n"
     "<|im_start|>assistant\n",
     "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n5<|im_end|>\n"
     "<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\nBlue.<|im_end|>\n"
     "<|im_start|>user\nWhat is 17 * 23?<|im_end|>\n"
     "<|im_start|>assistant\nLet's think step by step."},
    {"zephyr",
     "<|system|>\nBe brief.</s>\n"
     "<|user|>\nWhat is 2 + 3?</s>\n<|assistant|>\n5</s>\n"
     "<|user|>\nName a colour.</s>\n<|assistant|>\nBlue.</s>\n"
     "<|user|>\nWhat is 17 * 23?\nLet's think step by step.</s>\n<|assistant|>\n",
     "<|user|>\nWhat is 2 + 3?</s>\n<|assistant|>\n5</s>\n"
     "<|user|>\nName a colour.</s>\n<|assistant|>\nBlue.</s>\n"
     "<|user|>\nWhat is 17 * 23?</s>\n<|assistant|>\nLet's think step by step."},
    {"llama3",
     "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
     "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2 + 3?<|eot_id|>"
     "<|start_header_id|>assistant<|end_header_id|>\n\n5<|eot_id|>"
     "<|start_header_id|>user<|end_header_id|>\n\nName a colour.<|eot_id|>"
     "<|start_header_id|>assistant<|end_header_id|>\n\nBlue.<|eot_id|>"
     "<|start_header_id|>user<|end_header_id|>\n\nWhat is 17 * 23?\n"
     "Let's think step by step.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
     "<|begin_of_text|>"
     "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2 + 3?<|eot_id|>"
     "<|start_header_id|>assistant<|end_header_id|>\n\n5<|eot_id|>"
     "<|start_header_id|>user<|end_header_id|>\n\nName a colour.<|eot_id|>"
     "<|start_header_id|>assistant<|end_header_id|>\n\nBlue.<|eot_id|>"
     "<|start_header_id|>user<|end_header_id|>\n\nWhat is 17 * 23?<|eot_id|>"
     "<|start_header_id|>assistant<|end_header_id|>\n\nLet's think step by step."},
    {"phi2",
     "Instruct: Be brief.\n\nWhat is 2 + 3?\nOutput: 5\nInstruct: Name a colour.\nOutput: Blue.\n"
     "Instruct: What is 17 * 23?\nLet's think step by step.\nOutput:",
     "Instruct: What is 2 + 3?\nOutput: 5\nInstruct: Name a colour.\nOutput: Blue.\n"
     "Instruct: What is 17 * 23?\nOutput: Let's think step by step."},
    {"qa",
     "Be brief.\n\nQ: What is 2 + 3?\nA: 5\nQ: Name a colour.\nA: Blue.\n"
     "Q: What is 17 * 23?\nLet's think step by step.\nA:",
     "Q: What is 2 + 3?\nA: 5\nQ: Name a colour.\nA: Blue.\n"
     "Q: What is 17 * 23?\nA: Let's think step by step."},
    {"user-assistant",
     "Be brief.\n\nUser: What is 2 + 3?\nAssistant: 5\nUser: Name a colour.\nAssistant: Blue.\n"
     "User: What is 17 * 23?\nLet's think step by step.\nAssistant:",
     "User: What is 2 + 3?\nAssistant: 5\nUser: Name a colour.\nAssistant: Blue.\n"
     "User: What is 17 * 23?\nAssistant: Let's think step by step."},
};

TEST(template_render_few_shot_cot)
{
    struct few_shot fs = examples();
    struct chat_opts a = {"Be brief.", &fs, TEMPLATE_COT_USER};
    struct chat_opts b = {NULL, &fs, TEMPLATE_COT_REPLY};
    CHECK_INT(ARRAY_LEN(fs_cases), template_count());
    for (size_t i = 0; i < ARRAY_LEN(fs_cases); i++) {
        CHECK_RENDER(fs_cases[i].name, &a, 1, "What is 17 * 23?", fs_cases[i].sys_fs_cot_user);
        CHECK_RENDER(fs_cases[i].name, &b, 1, "What is 17 * 23?", fs_cases[i].fs_cot_reply);
    }
    /* CoT applies on later turns too; examples do not */
    struct chat_opts c = {NULL, &fs, TEMPLATE_COT_USER};
    CHECK_RENDER("qa", &c, 0, "Why?", "Q: Why?\nLet's think step by step.\nA:");
    c.cot = TEMPLATE_COT_REPLY;
    CHECK_RENDER("qa", &c, 0, "Why?", "Q: Why?\nA: Let's think step by step.");
    CHECK_RENDER("raw", &c, 0, "Why?", "Why?\nLet's think step by step.");
    /* an empty example set is no example set */
    struct few_shot none;
    memset(&none, 0, sizeof(none));
    struct chat_opts d = {NULL, &none, 0};
    CHECK_RENDER("qa", &d, 1, "Hi", "Q: Hi\nA:");
}

/* ---- whole transcripts ----------------------------------------------------
 * A conversation built turn by turn (render, the model's reply, end of
 * reply, render) must equal what the model's own chat_template renders for
 * [system "You are a helpful assistant", user "Hello", assistant "Hi there",
 * user "Who are you"] with add_generation_prompt (HF jinja settings,
 * bos_token/eos_token substituted). */
static void transcript(const char *name, const char *system, const char *expected)
{
    const struct chat_template *t = template_find(name);
    struct chat_opts o = {system, NULL, 0};
    char buf[2048], text[4096];
    CHECK(t != NULL);
    if (!t)
        return;
    int n = template_render_user(t, &o, 1, "Hello", buf, sizeof(buf));
    CHECK(n > 0);
    strcpy(text, buf);
    strcat(text, t->reply_lead); /* the model writes " Hi" itself */
    strcat(text, "Hi there");
    strcat(text, template_end_of_reply(t));
    n = template_render_user(t, &o, 0, "Who are you", buf, sizeof(buf));
    CHECK(n > 0);
    strcat(text, buf);
    CHECK_STR(text, expected);
}

TEST(template_transcripts)
{
    /* meta-llama/Llama-2-7b-chat-hf (bos_token + '[INST] ' ... ' '  + content.strip()
     * + ' ' + eos_token), equal to Meta's chat_completion token layout. */
    transcript("llama2", "You are a helpful assistant",
               "<s>[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST]"
               " Hi there </s><s>[INST] Who are you [/INST]");
    transcript("llama2", NULL, "<s>[INST] Hello [/INST] Hi there </s><s>[INST] Who are you [/INST]");
    /* TinyLlama/TinyLlama-1.1B-Chat-v1.0 */
    transcript("zephyr", "You are a helpful assistant",
               "<|system|>\nYou are a helpful assistant</s>\n<|user|>\nHello</s>\n"
               "<|assistant|>\nHi there</s>\n<|user|>\nWho are you</s>\n<|assistant|>\n");
    /* Qwen/Qwen2-*-Instruct (with an explicit system message, so its default
     * "You are a helpful assistant." is not inserted) */
    transcript("chatml", "You are a helpful assistant",
               "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n"
               "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n"
               "<|im_start|>user\nWho are you<|im_end|>\n<|im_start|>assistant\n");
    /* meta-llama/Meta-Llama-3-8B-Instruct */
    transcript("llama3", "You are a helpful assistant",
               "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
               "You are a helpful assistant<|eot_id|>"
               "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
               "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
               "<|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|>"
               "<|start_header_id|>assistant<|end_header_id|>\n\n");
    /* Mistral-7B-Instruct as documented by Mistral ("<s>[INST] Instruction
     * [/INST] Model answer</s>[INST] Follow-up instruction [/INST]"), with the
     * system prompt folded into the first message as mistralai's v1 template
     * does. */
    transcript("mistral", "You are a helpful assistant",
               "<s>[INST] You are a helpful assistant\n\nHello [/INST] Hi there</s>"
               "[INST] Who are you [/INST]");
    transcript("alpaca", NULL,
               "### Instruction:\nHello\n\n### Response:\nHi there\n\n"
               "### Instruction:\nWho are you\n\n### Response:\n");
    transcript("qa", NULL, "Q: Hello\nA: Hi there\nQ: Who are you\nA:");
    transcript("user-assistant", NULL, "User: Hello\nAssistant: Hi there\nUser: Who are you\nAssistant:");
    transcript("phi2", NULL, "Instruct: Hello\nOutput: Hi there\nInstruct: Who are you\nOutput:");
    transcript("raw", NULL, "HelloHi thereWho are you");
}

/* ---- detection ------------------------------------------------------------
 * tokenizer.chat_template strings as shipped (tokenizer_config.json, copied
 * into the GGUF metadata by convert_hf_to_gguf.py). */

/* TinyLlama/TinyLlama-1.1B-Chat-v1.0 (real newlines between the tags) */
static const char jinja_tinyllama[] =
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n"
    "{{ '<|user|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'system' %}\n"
    "{{ '<|system|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'assistant' %}\n"
    "{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n"
    "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n"
    "{% endfor %}";

/* meta-llama/Llama-2-7b-chat-hf */
static const char jinja_llama2[] =
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}"
    "{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
    "{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}"
    "{% endif %}{% endfor %}";

/* mistralai/Mistral-7B-Instruct-v0.2 */
static const char jinja_mistral[] =
    "{{ bos_token }}{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}"
    "{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

/* Qwen/Qwen2-*-Instruct */
static const char jinja_qwen2[] =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/* meta-llama/Meta-Llama-3-8B-Instruct */
static const char jinja_llama3[] =
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
    "{% endif %}";

/* microsoft/Phi-3-mini-4k-instruct: <|user|>/<|assistant|> but <|end|> */
static const char jinja_phi3[] =
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') %}"
    "{{'<|user|>' + '\n' + message['content'] + '<|end|>' + '\n' + '<|assistant|>' + '\n'}}"
    "{% elif (message['role'] == 'assistant') %}{{message['content'] + '<|end|>' + '\n'}}"
    "{% endif %}{% endfor %}";

/* microsoft/Phi-3-mini-4k-instruct (2024-07 update): same tags, eos_token too */
static const char jinja_phi3_eos[] =
    "{% for message in messages %}{% if message['role'] == 'system' %}"
    "{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}"
    "{{'<|user|>\n' + message['content'] + '<|end|>\n'}}"
    "{% elif message['role'] == 'assistant' %}"
    "{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}";

/* microsoft/phi-4: <|im_start|> with <|im_sep|> */
static const char jinja_phi4[] =
    "{% for message in messages %}{% if (message['role'] == 'system') %}"
    "{{'<|im_start|>system<|im_sep|>' + message['content'] + '<|im_end|>'}}"
    "{% elif (message['role'] == 'user') %}{{'<|im_start|>user<|im_sep|>' + message['content'] + "
    "'<|im_end|><|im_start|>assistant<|im_sep|>'}}{% elif (message['role'] == 'assistant') %}"
    "{{message['content'] + '<|im_end|>'}}{% endif %}{% endfor %}";

/* google/gemma-7b-it */
static const char jinja_gemma[] =
    "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for message in messages %}{{ '<start_of_turn>' + role + '\n' + "
    "message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}";

/* GLM-Edge: <|user|>/<|assistant|> without an end-of-turn token */
static const char jinja_glmedge[] =
    "{% for item in messages %}{% if item['role'] == 'system' %}<|system|>\n{{ item['content'] }}"
    "{% elif item['role'] == 'user' %}<|user|>\n{{ item['content'] }}"
    "{% elif item['role'] == 'assistant' %}<|assistant|>\n{{ item['content'] }}{% endif %}"
    "{% endfor %}<|assistant|>";

/* deepseek-ai/deepseek-coder-*-instruct (excerpt): an Alpaca-style format */
static const char jinja_deepseek_coder[] =
    "{%- if message['role'] == 'user' %}\n{{'### Instruction:\\n' + message['content'] + '\\n'}}\n"
    "{%- else %}\n{{'### Response:\\n' + message['content'] + '\\n<|EOT|>\\n'}}\n";

/* A hand-written Phi-2 template (Phi-2 GGUFs usually carry none) */
static const char jinja_phi2[] =
    "{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ 'Instruct: ' + message['content'] + '\\nOutput:' }}{% else %}"
    "{{ ' ' + message['content'] + '\\n' }}{% endif %}{% endfor %}";

/* lmsys vicuna: no known family */
static const char jinja_vicuna[] =
    "{%- for message in messages %}{%- if message['role'] == 'system' -%}"
    "{{- '' + message['content'] + '\n\n' -}}{%- else -%}{%- if message['role'] == 'user' -%}"
    "{{-'USER: ' + message['content'] + '\n'-}}{%- else -%}"
    "{{-'ASSISTANT: ' + message['content'] + '</s>\n' -}}{%- endif -%}{%- endif -%}"
    "{%- endfor -%}{%- if add_generation_prompt -%}{{-'ASSISTANT:'-}}{%- endif -%}";

/* Detects from an exact-size heap copy (no NUL after it). */
static const char *detect(const char *s, size_t n)
{
    char *copy = malloc(n ? n : 1);
    memcpy(copy, s, n);
    const struct chat_template *t = template_detect(copy, n);
    free(copy);
    return t ? t->name : "(none)";
}

#define DETECT(s) detect(s, strlen(s))

TEST(template_detect_gguf)
{
    CHECK_STR(DETECT(jinja_tinyllama), "zephyr");
    CHECK_STR(DETECT(jinja_llama2), "llama2");
    CHECK_STR(DETECT(jinja_mistral), "mistral");
    CHECK_STR(DETECT(jinja_qwen2), "chatml");
    CHECK_STR(DETECT(jinja_llama3), "llama3");
    CHECK_STR(DETECT(jinja_deepseek_coder), "alpaca");
    CHECK_STR(DETECT(jinja_phi2), "phi2");
    CHECK_STR(DETECT(jinja_phi3), "(none)");
    CHECK_STR(DETECT(jinja_phi3_eos), "(none)");
    CHECK_STR(DETECT(jinja_phi4), "(none)");
    CHECK_STR(DETECT(jinja_gemma), "(none)");
    CHECK_STR(DETECT(jinja_glmedge), "(none)");
    CHECK_STR(DETECT(jinja_vicuna), "(none)");
    CHECK_STR(DETECT("hello"), "(none)");
    /* Phi-2 and llama2.c models: no tokenizer.chat_template at all */
    CHECK(template_detect(NULL, 0) == NULL);
    CHECK(template_detect("", 0) == NULL);
    /* only len bytes count: the marker cut in half is not seen */
    const char *p = strstr(jinja_qwen2, "<|im_start|>");
    CHECK_STR(detect(jinja_qwen2, (size_t)(p - jinja_qwen2) + 6), "(none)");
    CHECK_STR(detect(jinja_qwen2, (size_t)(p - jinja_qwen2) + 12), "chatml");
    /* detection finds templates that render like the originals */
    CHECK(template_detect(jinja_llama2, strlen(jinja_llama2)) == template_find("llama-2"));
}

/* ---- buffer limits and bad arguments -------------------------------------- */

TEST(template_buffer_too_small)
{
    struct few_shot fs = examples();
    struct chat_opts o = {"Be brief.", &fs, TEMPLATE_COT_USER};
    for (int i = 0; i < template_count(); i++) {
        const struct chat_template *t = template_at(i);
        int need = template_render_user(t, &o, 1, "What is 17 * 23?", NULL, 0);
        CHECK(need > 0);
        char *full = malloc((size_t)need + 1);
        CHECK_INT(template_render_user(t, &o, 1, "What is 17 * 23?", full, (size_t)need + 1), need);
        for (size_t cap = 0; cap <= (size_t)need + 1; cap++) {
            char *buf = malloc(cap ? cap : 1);
            memset(buf, 'x', cap ? cap : 1);
            int rc = template_render_user(t, &o, 1, "What is 17 * 23?", buf, cap);
            if (cap <= (size_t)need) {
                CHECK_INT(rc, ERR_RANGE);
                if (cap > 0)
                    CHECK_INT(buf[0], 0); /* nothing partial */
                else
                    CHECK_INT(buf[0], 'x'); /* cap 0: not touched */
            } else {
                CHECK_INT(rc, need);
                CHECK_STR(buf, full);
            }
            free(buf);
        }
        free(full);
    }
    /* later turn, exact fit */
    char buf[16];
    CHECK_INT(render("qa", NULL, 0, "Hi", buf, 9), 8); /* "Q: Hi\nA:" */
    CHECK_STR(buf, "Q: Hi\nA:");
    CHECK_INT(render("qa", NULL, 0, "Hi", buf, 8), ERR_RANGE);
    CHECK_STR(buf, "");
}

TEST(template_bad_arguments)
{
    const struct chat_template *t = template_find("chatml");
    char buf[256];
    struct chat_opts bad_cot = {NULL, NULL, 3};
    struct chat_opts neg_cot = {NULL, NULL, -1};
    CHECK_INT(template_render_user(NULL, NULL, 1, "Hi", buf, sizeof(buf)), ERR_INVAL);
    CHECK_INT(template_render_user(t, NULL, 1, NULL, buf, sizeof(buf)), ERR_INVAL);
    CHECK_INT(template_render_user(t, NULL, 1, "Hi", NULL, 10), ERR_INVAL);
    CHECK_INT(template_render_user(t, &bad_cot, 1, "Hi", buf, sizeof(buf)), ERR_INVAL);
    CHECK_INT(template_render_user(t, &neg_cot, 1, "Hi", buf, sizeof(buf)), ERR_INVAL);
    /* a damaged example set is refused, not followed */
    struct few_shot fs = examples();
    struct chat_opts o = {NULL, &fs, 0};
    fs.count = FEW_SHOT_MAX + 1;
    CHECK_INT(template_render_user(t, &o, 1, "Hi", buf, sizeof(buf)), ERR_FORMAT);
    fs = examples();
    fs.pairs[1].a = NULL;
    CHECK_INT(template_render_user(t, &o, 1, "Hi", buf, sizeof(buf)), ERR_FORMAT);
    /* ... but only on the first turn, where it is used */
    CHECK(template_render_user(t, &o, 0, "Hi", buf, sizeof(buf)) > 0);
}

/* ---- few-shot files ------------------------------------------------------- */

static int parse(struct few_shot *fs, const char *text, int *line)
{
    size_t n = strlen(text);
    char *copy = malloc(n ? n : 1);
    memcpy(copy, text, n);
    int rc = few_shot_parse(fs, copy, n, line);
    free(copy); /* spans are dead now: only counts and rc are checked */
    return rc;
}

static int span_is(const char *s, size_t n, const char *expected)
{
    return n == strlen(expected) && memcmp(s, expected, n) == 0;
}

TEST(few_shot_parse_ok)
{
    static const char text[] =
        "\xef\xbb\xbf\r\n"
        "  Q:   Translate to French:\r\n"
        "\r\n"
        "\tgood morning  \r\n"
        "A: bonjour\r\n"
        "\r\n"
        "\r\n"
        "User: Two\n"
        "lines\n"
        "Assistant:\n"
        "  first\n"
        "\n"
        "  second\t\n"
        "Q: last\n"
        "A:\tend";
    struct few_shot fs;
    int line = -7;
    CHECK_INT(few_shot_parse(&fs, text, sizeof(text) - 1, &line), 0);
    CHECK_INT(line, -7); /* written only on failure */
    CHECK_INT(fs.count, 3);
    CHECK(span_is(fs.pairs[0].q, fs.pairs[0].q_len, "Translate to French:\r\n\r\n\tgood morning"));
    CHECK(span_is(fs.pairs[0].a, fs.pairs[0].a_len, "bonjour"));
    CHECK(span_is(fs.pairs[1].q, fs.pairs[1].q_len, "Two\nlines"));
    CHECK(span_is(fs.pairs[1].a, fs.pairs[1].a_len, "first\n\n  second"));
    CHECK(span_is(fs.pairs[2].q, fs.pairs[2].q_len, "last"));
    CHECK(span_is(fs.pairs[2].a, fs.pairs[2].a_len, "end"));
    CHECK(fs.text == strstr(text, "Q:   Translate"));
    CHECK(fs.text + fs.text_len == text + sizeof(text) - 1);

    /* rendered with the CRs gone */
    struct chat_opts o = {NULL, &fs, 0};
    CHECK_RENDER("chatml", &o, 1, "Go",
                 "<|im_start|>user\nTranslate to French:\n\n\tgood morning<|im_end|>\n"
                 "<|im_start|>assistant\nbonjour<|im_end|>\n"
                 "<|im_start|>user\nTwo\nlines<|im_end|>\n"
                 "<|im_start|>assistant\nfirst\n\n  second<|im_end|>\n"
                 "<|im_start|>user\nlast<|im_end|>\n<|im_start|>assistant\nend<|im_end|>\n"
                 "<|im_start|>user\nGo<|im_end|>\n<|im_start|>assistant\n");
    CHECK_RENDER("raw", &o, 1, "Go",
                 "Q:   Translate to French:\n\n\tgood morning  \nA: bonjour\n\n\n"
                 "User: Two\nlines\nAssistant:\n  first\n\n  second\t\nQ: last\nA:\tend\n\nGo");

    /* exactly FEW_SHOT_MAX pairs */
    char big[4096] = "";
    for (int i = 0; i < FEW_SHOT_MAX; i++)
        strcat(big, "Q: q\nA: a\n\n");
    CHECK_INT(parse(&fs, big, &line), 0);
    CHECK_INT(fs.count, FEW_SHOT_MAX);
}

TEST(few_shot_parse_errors)
{
    struct {
        const char *text;
        int rc, line;
    } cases[] = {
        {"", ERR_FORMAT, 0},
        {"\n \n\t\n", ERR_FORMAT, 0},
        {"Examples:\nQ: a\nA: b\n", ERR_FORMAT, 1},       /* text before a question */
        {"Question: a\nAnswer: b\n", ERR_FORMAT, 1},      /* not markers */
        {"A: b\n", ERR_FORMAT, 1},                        /* answer first */
        {"Q: a\nA: b\nA: c\n", ERR_FORMAT, 3},            /* two answers */
        {"Q: a\n\nQ: b\nA: c\n", ERR_FORMAT, 1},          /* question without answer */
        {"Q: a\nA: b\n\nQ: c\n\n", ERR_FORMAT, 4},        /* ... at the end */
        {"Q:\nA: b\n", ERR_FORMAT, 1},                    /* empty question */
        {"Q: a\nA:  \n\nQ: c\nA: d\n", ERR_FORMAT, 2},    /* empty answer */
        {"Q: a\nA: b\n", 0, 0},
        {"Q: a\nA: b\x01\n", ERR_FORMAT, 2},              /* control character */
        {"Q: a\nA: b\n\x7f\n", ERR_FORMAT, 3},
        {"Q: a\r\r\nA: b\n", ERR_FORMAT, 1},              /* lone CR */
        {"Q: a\nA: b\n\vx\n", ERR_FORMAT, 3},
        {"Q: caf\xc3\xa9\nA: b\n", 0, 0},
        {"Q: caf\xc3\nA: b\n", ERR_FORMAT, 1},            /* bad UTF-8 */
        {"Q: a\nA: \xed\xa0\x80\n", ERR_FORMAT, 2},       /* surrogate */
        {"Q: a\tb\nA: c\td\n", 0, 0},                     /* TAB is fine */
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct few_shot fs;
        memset(&fs, 0x5a, sizeof(fs));
        int line = -1;
        int rc = parse(&fs, cases[i].text, &line);
        CHECK_MSG(rc == cases[i].rc, "case %zu: rc %d", i, rc);
        if (cases[i].rc) {
            CHECK_MSG(line == cases[i].line, "case %zu: line %d", i, line);
            CHECK_INT(fs.count, 0x5a5a5a5a); /* untouched on failure */
        }
    }
    /* an embedded NUL byte is a control character */
    struct few_shot fs;
    int line = -1;
    CHECK_INT(few_shot_parse(&fs, "Q: a\nA: b\0c\n", 12, &line), ERR_FORMAT);
    CHECK_INT(line, 2);

    /* FEW_SHOT_MAX + 1 pairs: the line of the extra question */
    char big[4096] = "";
    for (int i = 0; i <= FEW_SHOT_MAX; i++)
        strcat(big, "Q: q\nA: a\n\n");
    CHECK_INT(parse(&fs, big, &line), ERR_RANGE);
    CHECK_INT(line, FEW_SHOT_MAX * 3 + 1);

    /* too big a file */
    char *huge = malloc(FEW_SHOT_FILE_MAX + 1);
    memset(huge, ' ', FEW_SHOT_FILE_MAX + 1);
    memcpy(huge, "Q: a\nA: b\n", 10);
    line = -1;
    CHECK_INT(few_shot_parse(&fs, huge, FEW_SHOT_FILE_MAX + 1, &line), ERR_RANGE);
    CHECK_INT(line, 0);
    CHECK_INT(few_shot_parse(&fs, huge, FEW_SHOT_FILE_MAX, NULL), 0);
    free(huge);

    CHECK_INT(few_shot_parse(NULL, "Q: a\nA: b", 9, NULL), ERR_INVAL);
    CHECK_INT(few_shot_parse(&fs, NULL, 3, NULL), ERR_INVAL);
    CHECK_INT(few_shot_parse(&fs, NULL, 0, &line), ERR_FORMAT);
    CHECK_INT(line, 0);
}
