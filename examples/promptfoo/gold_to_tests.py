"""Gold JSONL (shared/eval/README.md) -> promptfoo test cases (JSONL), one a line.

python examples/promptfoo/gold_to_tests.py tests/gold/dev.jsonl > examples/promptfoo/tests.jsonl
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if not line.strip():
                    continue
                item = json.loads(line)
                case = {
                    "description": f"{item['id']} [{item['lang']}]",
                    "vars": {
                        "question": item["question"],
                        "history": item.get("history", []),
                        "answerable": item["answerable"],
                        "paragraphs": json.dumps(item.get("paragraphs", [])),
                    },
                }
                print(json.dumps(case, ensure_ascii=False))


if __name__ == "__main__":
    main()
