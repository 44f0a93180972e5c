"""Texts every exported-encoder test compares with torch: a letter, product titles, accents, a word, and one
text long enough to be truncated at the model's 256 tokens."""

TEXTS = [
    "a",
    "red cotton shirt with long sleeves and buttons",
    "Kindle Paperwhite – Now Waterproof with 2x the Storage. Brand: Amazon. Color: Black",
    "stainless steel kitchen knife set with wooden block, 15 pieces. Category: Kitchen > Knives",
    "café crème tassen 2er set",
    "mug",
    " ".join(["memory foam mattress"] * 120),  # 360 words: truncated at the model's 256 tokens like torch
]
