"""Every prompt the pipeline sends to an LLM, in English and Chinese. The language is chosen from
the transcript's detected language; an upload's ``summary_prompt`` replaces the summary
instructions."""

from __future__ import annotations

import json

POLISH_SYSTEM = {
    "en": (
        "You are a careful editor of automatic speech transcripts. The user sends a JSON object with "
        "numbered paragraphs of one transcript. For each paragraph restore punctuation and capitalisation "
        "and fix obvious recognition errors (words misheard as similar-sounding ones). Keep the speaker's "
        "words and language: do not summarise, translate, reorder, merge or split paragraphs, and do not "
        "add or remove content. Answer with only a JSON object of the same shape, "
        '{"paragraphs": [{"id": <id>, "text": "<corrected text>"}]}, with every id exactly once.'
    ),
    "zh": (
        "你是一名细心的语音转写校对员。用户会发送一个 JSON 对象，里面是同一段自动语音识别转写的编号段落。"
        "请为每个段落补全标点符号，修正明显的识别错误（同音字、近音词、错别字）。保留说话人的原话和语言："
        "不要总结、翻译、重排、合并或拆分段落，也不要增删内容。只用同样结构的 JSON 对象回答："
        '{"paragraphs": [{"id": 编号, "text": "校对后的文本"}]}，每个编号恰好出现一次。'
    ),
}

SUMMARY_INSTRUCTIONS = {
    "en": (
        "Summarise this transcript in a few short paragraphs: the main topics, the key points, and any "
        "conclusions, decisions or action items. Be factual and use only what the transcript says."
    ),
    "zh": "请用简洁的中文总结这段转写内容：主要话题、关键要点，以及结论、决定或待办事项。只依据转写内容，不要编造。",
}

PART_NOTE = {
    "en": "This is part {index} of {total} of one transcript; summarise this part only.",
    "zh": "这是同一份转写的第 {index} 部分（共 {total} 部分），只总结这一部分。",
}

COMBINE_NOTE = {
    "en": "The text below is a series of summaries of consecutive parts of one transcript. Merge them into "
    "one summary of the whole transcript.",
    "zh": "下面是同一份转写各个连续部分的摘要，请把它们合并成整份转写的一份摘要。",
}


def prompt_language(language: str) -> str:
    """'zh' for Chinese (Mandarin or Cantonese) transcripts, 'en' for everything else."""
    return "zh" if (language or "").lower().split("-")[0] in ("zh", "yue") else "en"


def polish_messages(paragraphs: list[tuple[int, str]], language: str) -> list[dict[str, str]]:
    payload = {"paragraphs": [{"id": pid, "text": text} for pid, text in paragraphs]}
    return [
        {"role": "system", "content": POLISH_SYSTEM[prompt_language(language)]},
        {"role": "user", "content": json.dumps(payload, ensure_ascii=False)},
    ]


def summary_messages(text: str, language: str, instructions: str = "", part: tuple[int, int] | None = None,
                     combine: bool = False) -> list[dict[str, str]]:  # fmt: skip
    """Messages asking for a summary of ``text``; ``part`` = (index, total) for one piece of a long
    transcript, ``combine`` for merging the pieces' summaries."""
    lang = prompt_language(language)
    system = instructions.strip() or SUMMARY_INSTRUCTIONS[lang]
    if part is not None:
        system += "\n\n" + PART_NOTE[lang].format(index=part[0], total=part[1])
    if combine:
        system += "\n\n" + COMBINE_NOTE[lang]
    return [{"role": "system", "content": system}, {"role": "user", "content": text}]
