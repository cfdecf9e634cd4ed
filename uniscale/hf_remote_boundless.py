"""
A uniscale BoundlessBPE tokenizer as a transformers tokenizer (trust_remote_code=True). export_hf.py
copies this file into every exported BoundlessBPE folder, next to boundless_primitive.json (phase
1's tokenizer.json) and boundless_merges.json (the supermerges and the two patterns), and names it
in tokenizer_config.json's auto_map.

Why not a stock tokenizer.json: a supermerge applies only between complete pretokens that are each
ONE phase-1 token. A flat merge list would apply it wherever its two tokens meet: (' of', ' the')
would fire in ' of theory' when ' theory' is ' the' + 'ory', and a coarse split cannot know where
the phase-1 pretokens end.
Self-contained on purpose (it runs inside the export folder, without the repository): the encoding
is uniscale/boundless.py's step 4, re-stated: the shared pattern cuts the text into pretokens, phase
1 encodes each alone, runs of >= 2 one-token pretokens whose text matches the superword pattern get
the supermerges, lowest rank first, leftmost first (a `tokenizers` BPE whose "characters" stand for
phase-1 ids). No BOS/EOS is added.
"""
import json
import os

import regex
import tokenizers
from transformers import PreTrainedTokenizer

CHAR0 = 0x10000  # phase-1 id i is spelled chr(CHAR0 + i), as in uniscale/btm_encoding.py
FILES = {'primitive_file': 'boundless_primitive.json', 'merges_file': 'boundless_merges.json'}


class UniscaleBoundlessTokenizer(PreTrainedTokenizer):
    vocab_files_names = FILES
    model_input_names = ['input_ids', 'attention_mask']

    def __init__(self, primitive_file, merges_file, **kwargs):
        self.primitive = tokenizers.Tokenizer.from_file(primitive_file)
        self.primitive.encode_special_tokens = True  # '<|bos|>' in a text is text (the project's)
        with open(merges_file, encoding='utf-8') as f:
            self.record = m = json.load(f)
        self.n_base, self.merges = m['n_base'], [tuple(p) for p in m['merges']]
        self.findall = regex.compile(m['pretokenize_pattern']).findall
        self.word = regex.compile(m['superword_pattern']).search if m['superword_pattern'] else None
        spell = [chr(CHAR0 + i) for i in range(self.n_base)]
        for a, b in self.merges:
            spell.append(spell[a] + spell[b])
        if len(set(spell)) < len(spell):
            raise ValueError(f"{merges_file}: two supermerged ids spell the same phase-1 ids; this "
                             f"tokenizer cannot represent them (use the project's encoder)")
        self.engine = tokenizers.Tokenizer(tokenizers.models.BPE(
            vocab={s: i for i, s in enumerate(spell)},
            merges=[(spell[a], spell[b]) for a, b in self.merges], cache_capacity=0))
        self.parts = [(i,) for i in range(self.n_base)]
        for a, b in self.merges:
            self.parts.append(self.parts[a] + self.parts[b])
        self.names = spell  # token strings: the stand-in spelling; the specials keep their text
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

    def _merged(self, run):
        if len(run) < 2:
            return run
        spelled = ''.join(chr(CHAR0 + i) for i in run)
        return self.engine.encode(spelled, add_special_tokens=False).ids

    def _tokenize(self, text, **kwargs):
        pieces = self.findall(text)
        out, run = [], []
        encodings = self.primitive.encode_batch(pieces, add_special_tokens=False)
        for piece, enc in zip(pieces, encodings):
            if len(enc.ids) == 1 and (self.word is None or self.word(piece) is not None):
                run.append(enc.ids[0])
                continue
            out += self._merged(run) + enc.ids
            run = []
        return [self.names[i] for i in out + self._merged(run)]

    def _convert_token_to_id(self, token):
        return self.ids[token]

    def _convert_id_to_token(self, index):
        return self.names[index]

    def convert_tokens_to_string(self, tokens):
        ids = [p for t in tokens for p in self.parts[self.ids[t]]]
        return self.primitive.decode(ids, skip_special_tokens=False)

    def save_vocabulary(self, save_directory, filename_prefix=None):
        prefix = f"{filename_prefix}-" if filename_prefix else ''
        prim = os.path.join(save_directory, prefix + FILES['primitive_file'])
        merges = os.path.join(save_directory, prefix + FILES['merges_file'])
        self.primitive.save(prim)
        with open(merges, 'w', encoding='utf-8') as f:
            json.dump(self.record, f)
        return prim, merges
