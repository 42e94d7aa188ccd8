"""One-off: derive the jieba user-dictionary word list from THUOCL medical (MIT).

usage: python data/lexicons/derive_thuocl.py PATH/TO/THUOCL_medical.txt > data/lexicons/thuocl_medical_words.txt
Keeps words of 2–10 characters made of CJK characters (the frequencies are dropped: we only need the words).
"""
import re
import sys

HEADER = """# word list: THUOCL medical words, used only as extra words for the owned jieba tokenizer
# version: 2026.11.1
# source: THUOCL 清华大学开放中文词库 (thunlp/THUOCL, data/THUOCL_medical.txt, commit a30ce79); words only
# licence: MIT License, Copyright (c) 2018 THUNLP. Permission is hereby granted, free of charge, to any person
#   obtaining a copy of this software and associated documentation files (the "Software"), to deal in the Software
#   without restriction ... The above copyright notice and this permission notice shall be included in all copies
#   or substantial portions of the Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
# cite: 韩世依, 张钰晖, 马云山, 涂存超, 郭志芃, 刘知远, 孙茂松. THUOCL：清华大学开放中文词库. 2016.
"""


def main(path: str) -> None:
    sys.stdout.write(HEADER)
    with open(path, encoding="utf-8") as f:
        for line in f:
            word = line.split("\t")[0].strip()
            if 2 <= len(word) <= 10 and re.fullmatch(r"[\u4e00-\u9fff]+", word):
                sys.stdout.write(word + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
