"""
A uniscale BTM tokenizer as a transformers tokenizer. export_hf.py copies this file into every exported BTM folder,
next to btm_primitive.json (the primitive BPE's tokenizer.json) and btm_merges.json (the merges), and names it in
tokenizer_config.json's auto_map, so that

    AutoTokenizer.from_pretrained(DIR, trust_remote_code=True)
    lm_eval ... --model_args pretrained=DIR,trust_remote_code=True

give the ids btm.py gives. Self-contained on purpose (it runs inside the export folder, without the repository):
the encoding is btm.py's step 4, re-stated: primitive BPE encode (special-token text stays text), then the merges
applied lowest rank first, leftmost first, over the whole text, by a `tokenizers` BPE whose "characters" stand for
primitive ids (uniscale/btm_encoding.py's merge_engine). No BOS/EOS is added by default, as in the project's encode().
"""
import json
import os

import tokenizers
from transformers import PreTrainedTokenizer

CHAR0 = 0x10000  # primitive id i is spelled chr(CHAR0 + i), as in uniscale/btm_encoding.py
FILES = {'primitive_file': 'btm_primitive.json', 'merges_file': 'btm_merges.json'}


def spellings(n_base, merges):
    """Every id's stand-in spelling: one character per primitive id, a merged id the concatenation of its pair."""
    spell = [chr(CHAR0 + i) for i in range(n_base)]
    for a, b in merges:
        spell.append(spell[a] + spell[b])
    return spell


class UniscaleBTMTokenizer(PreTrainedTokenizer):
    vocab_files_names = FILES
    model_input_names = ['input_ids', 'attention_mask']

    def __init__(self, primitive_file, merges_file, **kwargs):
        self.primitive = tokenizers.Tokenizer.from_file(primitive_file)
        self.primitive.encode_special_tokens = True  # '<|bos|>' in a text is text, as btm.py encodes it
        with open(merges_file, encoding='utf-8') as f:
            m = json.load(f)
        self.n_base, self.merges = m['n_base'], [tuple(p) for p in m['merges']]
        spell = spellings(self.n_base, self.merges)
        if len(set(spell)) < len(spell):
            raise ValueError(f"{merges_file}: two merged ids spell the same primitive ids; this tokenizer cannot "
                             f"represent them (use btm.py)")
        self.engine = tokenizers.Tokenizer(tokenizers.models.BPE(
            vocab={s: i for i, s in enumerate(spell)}, merges=[(spell[a], spell[b]) for a, b in self.merges],
            cache_capacity=0))
        self.parts = [(i,) for i in range(self.n_base)]
        for a, b in self.merges:
            self.parts.append(self.parts[a] + self.parts[b])
        # token strings: the stand-in spelling, except the primitive's special tokens, which keep their text
        self.names = spell
        for tok in self.primitive.get_added_tokens_decoder().values():
            i = self.primitive.token_to_id(tok.content)
            if i is not None and i < self.n_base:
                self.names[i] = tok.content
        self.ids = {s: i for i, s in enumerate(self.names)}
        kwargs.setdefault('split_special_tokens', True)
        kwargs.setdefault('clean_up_tokenization_spaces', False)
        super().__init__(**kwargs)

    @property
    def vocab_size(self):
        return len(self.names)

    def get_vocab(self):
        return dict(self.ids)

    def _tokenize(self, text, **kwargs):
        prim = self.primitive.encode(text, add_special_tokens=False).ids
        if not prim:
            return []
        return self.engine.encode(''.join(chr(CHAR0 + p) for p in prim), add_special_tokens=False).tokens

    def _convert_token_to_id(self, token):
        return self.ids[token]

    def _convert_id_to_token(self, index):
        return self.names[index]

    def convert_tokens_to_string(self, tokens):
        return self.primitive.decode([p for t in tokens for p in self.parts[self.ids[t]]], skip_special_tokens=False)

    def save_vocabulary(self, save_directory, filename_prefix=None):
        prefix = f"{filename_prefix}-" if filename_prefix else ''
        prim = os.path.join(save_directory, prefix + FILES['primitive_file'])
        merges = os.path.join(save_directory, prefix + FILES['merges_file'])
        self.primitive.save(prim)
        with open(merges, 'w', encoding='utf-8') as f:
            json.dump({'n_base': self.n_base, 'merges': [list(p) for p in self.merges]}, f)
        return prim, merges
