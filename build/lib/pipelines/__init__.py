"""The item pipelines, one subpackage per stage: extract, language, dedupe, storage; the dedupe
state; the item contract (``items``) and the public record (``record``). Never imports ``crawler``.
"""
