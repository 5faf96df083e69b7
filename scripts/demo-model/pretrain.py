#!/usr/bin/python3
"""Pretrains the app's demo model: a small Llama-architecture causal LM in Hugging Face format.

Dev-time script (Debian's python3-torch and python3-sentencepiece, nothing else). Reproducible:
the same corpus, arguments and thread count give the same files.

  1. Byte-level BPE tokenizer (GPT-2 style pre-tokenization and byte alphabet), merges learned
     with sentencepiece from the corpus's word counts, written as tokenizer.json.
  2. The corpus (one document per line, from `npm run data:tasks -- --pretrain-out FILE`, text
     that no task's test split contains) encoded with those merges, documents joined by
     <|endoftext|>, 2% of documents held out for validation.
  3. A Llama (RMSNorm, RoPE, grouped-query attention, SiLU-gated MLP, tied embeddings) trained
     with AdamW on next-token prediction, warmup then cosine decay.
  4. config.json, model.safetensors (F32), tokenizer.json, tokenizer_config.json,
     generation_config.json, training.json (settings, loss curve, timings) and loss-curve.svg;
     plus a parity fixture: token ids for sample texts and float64 reference logits.

Usage: scripts/demo-model/pretrain.py --corpus FILE --out DIR [--fixture FILE] [--steps N] ...
"""
import argparse
import collections
import json
import math
import os
import random
import re
import sys
import tempfile
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'oracle'))
import torch_llama  # noqa: E402  (float64 reference forward and the safetensors writer)

EOT = '<|endoftext|>'

# GPT-2's pre-tokenization pattern, with \p{L} and \p{N} written for Python's re module.
PRETOKEN = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")


def byte_alphabet():
    """GPT-2's reversible map from the 256 byte values to printable characters, in byte order."""
    printable = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return [table[b] for b in range(256)]


ALPHABET = byte_alphabet()


def to_symbols(piece):
    return ''.join(ALPHABET[b] for b in piece.encode('utf-8'))


# ----------------------------------------------------------------------------- tokenizer

def train_tokenizer(documents, vocab_size, threads):
    """Returns (vocab {token: id}, merges [(left, right)]) of a byte-level BPE of vocab_size tokens."""
    counts = collections.Counter()
    for doc in documents:
        counts.update(PRETOKEN.findall(doc))
    words = collections.Counter()
    for word, n in counts.items():
        words[to_symbols(word)] += n
    chars = {c for w in words for c in w}
    n_merged = vocab_size - 1 - len(ALPHABET)
    with tempfile.TemporaryDirectory() as tmp:
        tsv = os.path.join(tmp, 'words.tsv')
        with open(tsv, 'w', encoding='utf-8') as f:
            for word, n in sorted(words.items()):
                f.write(f'{word}\t{n}\n')
        prefix = os.path.join(tmp, 'bpe')
        spm.SentencePieceTrainer.train(
            input=tsv, input_format='tsv', model_prefix=prefix, model_type='bpe',
            vocab_size=1 + len(chars) + n_merged, character_coverage=1.0,
            normalization_rule_name='identity', add_dummy_prefix=False, remove_extra_whitespaces=False,
            split_by_whitespace=False, split_by_unicode_script=False, split_by_number=False,
            max_sentencepiece_length=16, unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1,
            num_threads=threads, minloglevel=2)
        sp = spm.SentencePieceProcessor(model_file=prefix + '.model')
        pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    vocab = {EOT: 0}
    for ch in ALPHABET:
        vocab[ch] = len(vocab)
    for piece in pieces[1:]:  # sentencepiece's order: most useful merges first
        if len(piece) > 1 and piece not in vocab:
            vocab[piece] = len(vocab)
    if len(vocab) != vocab_size:
        raise RuntimeError(f'tokenizer has {len(vocab)} tokens, expected {vocab_size}')
    # Every split of a merged token into two tokens is a merge, ranked by the merged token's id,
    # then by the ids of its parts (the conversion transformers uses for sentencepiece BPE models).
    merges = []
    for token, tid in vocab.items():
        if tid <= len(ALPHABET):
            continue
        for k in range(1, len(token)):
            left, right = token[:k], token[k:]
            if left in vocab and right in vocab:
                merges.append((tid, vocab[left], vocab[right], left, right))
    merges.sort()
    return vocab, [(m[3], m[4]) for m in merges]


class BpeEncoder:
    """Encodes text exactly as tokenizer.json's BPE with ByteLevel pre-tokenization does."""

    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.ranks = {pair: i for i, pair in enumerate(merges)}
        self.cache = {}

    def word(self, symbols):
        hit = self.cache.get(symbols)
        if hit is not None:
            return hit
        parts = list(symbols)
        while len(parts) > 1:
            best, at = None, -1
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best is None or r < best):
                    best, at = r, i
            if best is None:
                break
            parts[at:at + 2] = [parts[at] + parts[at + 1]]
        ids = [self.vocab[p] for p in parts]
        self.cache[symbols] = ids
        return ids

    def encode(self, text):
        out = []
        for w in PRETOKEN.findall(text):
            out.extend(self.word(to_symbols(w)))
        return out


def tokenizer_files(vocab, merges, max_length):
    byte_level = {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True}
    added = {'id': 0, 'content': EOT, 'single_word': False, 'lstrip': False, 'rstrip': False,
             'normalized': False, 'special': True}
    tokenizer = {
        'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': [added],
        'normalizer': None, 'pre_tokenizer': byte_level, 'post_processor': {**byte_level, 'trim_offsets': False},
        'decoder': byte_level,
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None,
                  'end_of_word_suffix': None, 'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
                  'vocab': vocab, 'merges': [f'{a} {b}' for a, b in merges]},
    }
    config = {
        'add_bos_token': False, 'add_eos_token': False,
        'added_tokens_decoder': {'0': {k: v for k, v in added.items() if k != 'id'}},
        'bos_token': EOT, 'eos_token': EOT, 'pad_token': EOT, 'unk_token': None,
        'clean_up_tokenization_spaces': False, 'model_max_length': max_length,
        'tokenizer_class': 'PreTrainedTokenizerFast',
    }
    return tokenizer, config


# ----------------------------------------------------------------------------- model

class Llama(torch.nn.Module):
    """Float32 LlamaForCausalLM with tied embeddings; parameter names are the Hugging Face ones."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        H, I, V = cfg['hidden_size'], cfg['intermediate_size'], cfg['vocab_size']
        nh, nkv = cfg['num_attention_heads'], cfg['num_key_value_heads']
        D = H // nh
        self.params = torch.nn.ParameterDict()
        std = 0.02
        out_std = std / math.sqrt(2 * cfg['num_hidden_layers'])

        def add(name, shape, init):
            t = torch.empty(shape)
            if init == 'ones':
                t.fill_(1.0)
            else:
                t.normal_(0.0, init)
            self.params[name.replace('.', '__')] = torch.nn.Parameter(t)

        add('model.embed_tokens.weight', (V, H), std)
        add('model.norm.weight', (H,), 'ones')
        for i in range(cfg['num_hidden_layers']):
            p = f'model.layers.{i}.'
            add(p + 'input_layernorm.weight', (H,), 'ones')
            add(p + 'post_attention_layernorm.weight', (H,), 'ones')
            add(p + 'self_attn.q_proj.weight', (nh * D, H), std)
            add(p + 'self_attn.k_proj.weight', (nkv * D, H), std)
            add(p + 'self_attn.v_proj.weight', (nkv * D, H), std)
            add(p + 'self_attn.o_proj.weight', (H, nh * D), out_std)
            add(p + 'mlp.gate_proj.weight', (I, H), std)
            add(p + 'mlp.up_proj.weight', (I, H), std)
            add(p + 'mlp.down_proj.weight', (H, I), out_std)
        inv = 1.0 / (cfg['rope_theta'] ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
        pos = torch.arange(cfg['max_position_embeddings'], dtype=torch.float64)
        emb = torch.cat([torch.outer(pos, inv)] * 2, dim=-1)
        self.register_buffer('cos', emb.cos().float(), persistent=False)
        self.register_buffer('sin', emb.sin().float(), persistent=False)

    def w(self, name):
        return self.params[name.replace('.', '__')]

    def named_weights(self):
        return {k.replace('__', '.'): v for k, v in self.params.items()}

    def norm(self, x, name):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.cfg['rms_norm_eps']) * self.w(name)

    def forward(self, ids):
        c = self.cfg
        B, T = ids.shape
        nh, nkv = c['num_attention_heads'], c['num_key_value_heads']
        D = c['hidden_size'] // nh
        cos, sin = self.cos[:T], self.sin[:T]
        mask = torch.full((T, T), float('-inf')).triu(1)

        def rope(x):
            x1, x2 = x[..., :D // 2], x[..., D // 2:]
            return x * cos + torch.cat((-x2, x1), dim=-1) * sin

        x = F.embedding(ids, self.w('model.embed_tokens.weight'))
        for i in range(c['num_hidden_layers']):
            p = f'model.layers.{i}.'
            h = self.norm(x, p + 'input_layernorm.weight')
            q = F.linear(h, self.w(p + 'self_attn.q_proj.weight')).view(B, T, nh, D).transpose(1, 2)
            k = F.linear(h, self.w(p + 'self_attn.k_proj.weight')).view(B, T, nkv, D).transpose(1, 2)
            v = F.linear(h, self.w(p + 'self_attn.v_proj.weight')).view(B, T, nkv, D).transpose(1, 2)
            q, k = rope(q), rope(k)
            k = k.repeat_interleave(nh // nkv, dim=1)
            v = v.repeat_interleave(nh // nkv, dim=1)
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D) + mask, dim=-1)
            o = (att @ v).transpose(1, 2).reshape(B, T, nh * D)
            x = x + F.linear(o, self.w(p + 'self_attn.o_proj.weight'))
            h = self.norm(x, p + 'post_attention_layernorm.weight')
            g = F.linear(h, self.w(p + 'mlp.gate_proj.weight'))
            u = F.linear(h, self.w(p + 'mlp.up_proj.weight'))
            x = x + F.linear(F.silu(g) * u, self.w(p + 'mlp.down_proj.weight'))
        x = self.norm(x, 'model.norm.weight')
        return F.linear(x, self.w('model.embed_tokens.weight'))


def hf_config(args, vocab_size):
    return {
        'architectures': ['LlamaForCausalLM'], 'model_type': 'llama',
        'hidden_size': args.hidden, 'intermediate_size': args.intermediate,
        'num_hidden_layers': args.layers, 'num_attention_heads': args.heads,
        'num_key_value_heads': args.kv_heads, 'head_dim': args.hidden // args.heads,
        'vocab_size': vocab_size, 'max_position_embeddings': args.max_positions,
        'rms_norm_eps': 1e-5, 'rope_theta': 10000.0, 'rope_scaling': None,
        'hidden_act': 'silu', 'tie_word_embeddings': True, 'attention_bias': False, 'mlp_bias': False,
        'attention_dropout': 0.0, 'initializer_range': 0.02, 'pretraining_tp': 1,
        'bos_token_id': 0, 'eos_token_id': 0, 'pad_token_id': 0,
        'torch_dtype': 'float32', 'use_cache': True,
    }


# ----------------------------------------------------------------------------- training

def lr_at(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * t))


def batches(tokens, batch, seq, rng):
    """Random windows of seq+1 tokens from the stream (seeded)."""
    n = len(tokens) - seq - 1
    while True:
        starts = rng.integers(0, n, size=batch)
        chunk = np.stack([tokens[s:s + seq + 1] for s in starts]).astype(np.int64)
        yield torch.from_numpy(chunk)


@torch.no_grad()
def validation_loss(model, tokens, seq, max_windows=64):
    windows = min(max_windows, (len(tokens) - 1) // seq)
    total = 0.0
    for w in range(0, windows, 16):
        rows = [tokens[i * seq:i * seq + seq + 1] for i in range(w, min(windows, w + 16))]
        x = torch.from_numpy(np.stack(rows).astype(np.int64))
        logits = model(x[:, :-1])
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction='sum').item()
    return total / (windows * seq)


def loss_curve_svg(curve, val):
    """A small standalone SVG of training loss (and validation points) against step."""
    W, H, pad = 640, 360, 48
    steps = [c['step'] for c in curve]
    losses = [c['loss'] for c in curve]
    lo, hi = min(losses + [v['loss'] for v in val]), max(losses)
    top = math.ceil(hi)
    bottom = math.floor(lo)

    def xy(step, loss):
        x = pad + (W - 2 * pad) * step / max(steps)
        y = H - pad - (H - 2 * pad) * (loss - bottom) / max(1e-9, top - bottom)
        return f'{x:.1f},{y:.1f}'

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
             f'<rect width="{W}" height="{H}" fill="white"/>',
             f'<line x1="{pad}" y1="{H - pad}" x2="{W - pad}" y2="{H - pad}" stroke="#333"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{H - pad}" stroke="#333"/>']
    for v in range(bottom, top + 1):
        y = xy(0, v).split(',')[1]
        parts.append(f'<text x="{pad - 8}" y="{y}" text-anchor="end" dominant-baseline="middle">{v}</text>')
    for s in (0, max(steps) // 2, max(steps)):
        x = xy(s, bottom).split(',')[0]
        parts.append(f'<text x="{x}" y="{H - pad + 16}" text-anchor="middle">{s}</text>')
    parts.append(f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{" ".join(xy(s, l) for s, l in zip(steps, losses))}"/>')
    for v in val:
        x, y = xy(v['step'], v['loss']).split(',')
        parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="#d62728"/>')
    parts.append(f'<text x="{W / 2}" y="{H - 10}" text-anchor="middle">step</text>')
    parts.append(f'<text x="{W - pad}" y="{pad - 16}" text-anchor="end">training loss (blue, mean of 20 steps), validation (red), nats/token</text>')
    parts.append('</svg>')
    return '\n'.join(parts) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--corpus', required=True, help='pretraining text, one document per line')
    ap.add_argument('--out', required=True, help='model folder to write')
    ap.add_argument('--fixture', help='also write the parity fixture (token ids and reference logits) here')
    ap.add_argument('--vocab', type=int, default=4096)
    ap.add_argument('--hidden', type=int, default=128)
    ap.add_argument('--intermediate', type=int, default=352)
    ap.add_argument('--layers', type=int, default=4)
    ap.add_argument('--heads', type=int, default=4)
    ap.add_argument('--kv-heads', type=int, default=2)
    ap.add_argument('--max-positions', type=int, default=512)
    ap.add_argument('--seq', type=int, default=128)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--steps', type=int, default=2000)
    ap.add_argument('--warmup', type=int, default=100)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--min-lr', type=float, default=3e-4)
    ap.add_argument('--weight-decay', type=float, default=0.1)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t_start = time.time()
    with open(args.corpus, encoding='utf-8') as f:
        documents = [line.rstrip('\n') for line in f if line.strip()]
    rng = random.Random(args.seed)
    order = list(range(len(documents)))
    rng.shuffle(order)
    n_val = max(1, len(documents) // 50)
    val_docs = [documents[i] for i in order[:n_val]]
    train_docs = [documents[i] for i in order[n_val:]]
    print(f'corpus: {len(documents)} documents, {sum(map(len, documents))} characters; {n_val} held out', flush=True)

    vocab, merges = train_tokenizer(train_docs, args.vocab, args.threads)
    encoder = BpeEncoder(vocab, merges)
    t_tok = time.time()
    print(f'tokenizer: {len(vocab)} tokens, {len(merges)} merges ({t_tok - t_start:.0f} s)', flush=True)

    def stream(docs):
        out = []
        for d in docs:
            out.extend(encoder.encode(d))
            out.append(0)
        return np.asarray(out, dtype=np.int32)

    train_tokens, val_tokens = stream(train_docs), stream(val_docs)
    chars = sum(map(len, train_docs))
    print(f'encoded: {len(train_tokens)} training tokens ({chars / len(train_tokens):.2f} characters per token), '
          f'{len(val_tokens)} validation tokens ({time.time() - t_tok:.0f} s)', flush=True)

    cfg = hf_config(args, len(vocab))
    model = Llama(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': args.weight_decay},
                             {'params': no_decay, 'weight_decay': 0.0}], lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    data = batches(train_tokens, args.batch, args.seq, np.random.default_rng(args.seed))
    curve, val, window = [], [], []
    t_train = time.time()
    val.append({'step': 0, 'loss': validation_loss(model, val_tokens, args.seq)})
    for step in range(args.steps):
        for g in opt.param_groups:
            g['lr'] = lr_at(step, args)
        x = next(data)
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        window.append(loss.item())
        if (step + 1) % 20 == 0:
            curve.append({'step': step + 1, 'loss': sum(window) / len(window)})
            window = []
            elapsed = time.time() - t_train
            tps = (step + 1) * args.batch * args.seq / elapsed
            eta = (args.steps - step - 1) * elapsed / (step + 1)
            print(f'step {step + 1}/{args.steps} loss {curve[-1]["loss"]:.3f} lr {lr_at(step, args):.2e} '
                  f'{tps:.0f} tok/s eta {eta / 60:.1f} min', flush=True)
        if (step + 1) % 250 == 0 or step + 1 == args.steps:
            val.append({'step': step + 1, 'loss': validation_loss(model, val_tokens, args.seq)})
            print(f'validation loss {val[-1]["loss"]:.3f}', flush=True)
    train_seconds = time.time() - t_train

    os.makedirs(args.out, exist_ok=True)
    weights = {k: v.detach().float().numpy() for k, v in model.named_weights().items()}
    torch_llama.write_safetensors(os.path.join(args.out, 'model.safetensors'), weights, 'F32', {'format': 'pt'})
    tokenizer, tok_config = tokenizer_files(vocab, merges, args.max_positions)

    def dump(name, obj, indent=2):
        with open(os.path.join(args.out, name), 'w', encoding='utf-8') as f:
            json.dump(obj, f, indent=indent, ensure_ascii=False)
            f.write('\n')

    dump('config.json', cfg)
    dump('tokenizer.json', tokenizer, indent=None)
    dump('tokenizer_config.json', tok_config)
    dump('generation_config.json', {'bos_token_id': 0, 'eos_token_id': 0, 'pad_token_id': 0})
    dump('training.json', {
        'script': 'scripts/demo-model/pretrain.py', 'args': vars(args), 'parameters': n_params,
        'corpus': {'documents': len(documents), 'characters': sum(map(len, documents)), 'validationDocuments': n_val,
                   'trainingTokens': int(len(train_tokens)), 'validationTokens': int(len(val_tokens))},
        'tokensSeen': args.steps * args.batch * args.seq,
        'seconds': {'tokenizer': round(t_tok - t_start, 1), 'training': round(train_seconds, 1),
                    'total': round(time.time() - t_start, 1)},
        'threads': args.threads, 'torch': torch.__version__,
        'loss': curve, 'validationLoss': val,
    })
    with open(os.path.join(args.out, 'loss-curve.svg'), 'w') as f:
        f.write(loss_curve_svg(curve, val))
    print(f'wrote {args.out}: {n_params} parameters, final validation loss {val[-1]["loss"]:.3f}, '
          f'{train_seconds / 60:.1f} min of training', flush=True)

    if args.fixture:
        write_fixture(args, model, cfg, weights, encoder)


def write_fixture(args, model, cfg, weights, encoder):
    """Token ids of sample texts and float64 reference logits, for the engine's tests."""
    texts = [
        'Is this Amazon product review sentence positive or negative? Answer positive or negative.\n\nInput: Great phone, the battery lasts for days.\nOutput: positive',
        "The Committee's report, filed on 12 May 1961, wasn't   what anyone expected!",
        'Alle Menschen sind frei und gleich an Würde und Rechten geboren. Tous les êtres humains naissent libres.',
        'tabs\tand newlines\n\nmixed with under_scores, $3.50 and émojis 🙂.',
    ]
    samples = [{'text': t, 'ids': encoder.encode(t)} for t in texts]
    ids = samples[0]['ids'][:48]
    ref = torch_llama.LlamaModel(cfg, weights)
    logits64 = ref.forward(np.asarray([ids]))[0].numpy()
    with torch.no_grad():
        logits32 = model(torch.tensor([ids]))[0].double().numpy()
    err = np.abs(logits32 - logits64).max() / np.abs(logits64).max()
    if err > 1e-4:
        raise RuntimeError(f'training model and float64 reference disagree: relative error {err:.2e}')
    fixture = {'model': os.path.relpath(args.out, os.path.dirname(os.path.abspath(args.fixture))),
               'samples': samples, 'ids': ids, 'logits': [[round(float(v), 6) for v in row] for row in logits64[-4:]],
               'logitsPositions': list(range(len(ids) - 4, len(ids)))}
    with open(args.fixture, 'w', encoding='utf-8') as f:
        json.dump(fixture, f, ensure_ascii=False)
        f.write('\n')
    print(f'wrote {args.fixture} (float32 vs float64 reference: relative error {err:.1e})')


if __name__ == '__main__':
    main()
