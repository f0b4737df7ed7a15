using static TorchSharp.torch;

namespace FineTuning.Data;

/// <summary>How a collator or tokenizer pads: HF's <c>padding</c> argument.</summary>
public enum PaddingStrategy
{
    /// <summary>To the longest example of the batch (dynamic padding; HF's <c>padding=True</c>).</summary>
    Longest,
    /// <summary>To a fixed <c>maxLength</c> (HF's <c>padding="max_length"</c>).</summary>
    MaxLength,
    /// <summary>No padding: every example must already have the same length.</summary>
    DoNotPad,
}

/// <summary>
/// HF <c>DataCollatorWithPadding</c>: turns a list of tokenized examples (dataset rows) into one batch of tensors,
/// padding each batch only to its own longest example — dynamic padding — instead of the whole data set to a fixed
/// length. Pads on the tokenizer's side with its pad id; attention_mask 0 and token_type_ids 0 on padding;
/// renames <c>label</c> / <c>label_ids</c> to <c>labels</c>, the name the model's forward takes.
/// </summary>
/// <param name="padTokenId">the tokenizer's [PAD] id (0 for BERT).</param>
/// <param name="padding">longest (default), max_length or do_not_pad.</param>
/// <param name="maxLength">the length for <see cref="PaddingStrategy.MaxLength"/>.</param>
/// <param name="padToMultipleOf">round the padded length up to a multiple of this (8 helps tensor cores with fp16).</param>
/// <param name="paddingSide">"right" (BERT) or "left".</param>
public sealed class DataCollatorWithPadding(int padTokenId, PaddingStrategy padding = PaddingStrategy.Longest, int? maxLength = null,
                                            int? padToMultipleOf = null, string paddingSide = "right")
{
    /// <summary>Token-level columns and the value each is padded with.</summary>
    static readonly string[] SequenceColumns = ["input_ids", "attention_mask", "token_type_ids", "special_tokens_mask"];

    /// <summary>HF's usual construction, <c>DataCollatorWithPadding(tokenizer=tokenizer)</c>: the tokenizer's pad id and side.</summary>
    public DataCollatorWithPadding(FineTuning.Tokenizers.BertTokenizer tokenizer, PaddingStrategy padding = PaddingStrategy.Longest,
                                   int? maxLength = null, int? padToMultipleOf = null)
        : this(tokenizer.PadTokenId, padding, maxLength, padToMultipleOf, tokenizer.PaddingSide) { }

    public int PadTokenId { get; } = padTokenId;
    public PaddingStrategy Padding { get; } = padding;
    public int? MaxLength { get; } = maxLength;
    public int? PadToMultipleOf { get; } = padToMultipleOf;
    public string PaddingSide { get; } = paddingSide is "right" or "left" ? paddingSide
        : throw new ArgumentException($"paddingSide must be \"right\" or \"left\", not \"{paddingSide}\".", nameof(paddingSide));

    /// <summary>The length a batch whose longest example has <paramref name="longest"/> tokens is padded to.</summary>
    public int PaddedLength(int longest)
    {
        int length = Padding switch
        {
            PaddingStrategy.MaxLength => MaxLength ?? throw new InvalidOperationException("Padding to max_length needs maxLength."),
            _ => longest,
        };
        if (PadToMultipleOf is int m && m > 0 && length % m != 0) length = (length / m + 1) * m;
        return length;
    }

    /// <summary>Collates <paramref name="features"/> (e.g. rows of a tokenized Dataset) into tensors on <paramref name="device"/>.</summary>
    /// <exception cref="ArgumentException">an example lacks input_ids, a column holds text (remove it first, as the
    /// course does with sentence1/sentence2/idx), or an example is longer than max_length.</exception>
    public CollatedBatch Collate(IReadOnlyList<IReadOnlyDictionary<string, object?>> features, Device? device = null)
    {
        if (features.Count == 0) throw new ArgumentException("Cannot collate an empty list of examples.", nameof(features));
        var first = features[0];
        if (!first.ContainsKey("input_ids"))
            throw new ArgumentException($"Examples need an 'input_ids' column; they have: {string.Join(", ", first.Keys)}. Tokenize them first (Dataset.Map with the tokenizer).");

        var ids = features.Select((f, i) => Ints(f, "input_ids", i)).ToArray();
        int longest = ids.Max(x => x.Length);
        if (Padding == PaddingStrategy.DoNotPad && ids.Any(x => x.Length != longest))
            throw new ArgumentException("Examples have different lengths and padding is do_not_pad: pad them or use PaddingStrategy.Longest.");
        int length = PaddedLength(longest);
        if (longest > length)
            throw new ArgumentException($"An example has {longest} tokens, more than max_length {length}: truncate when tokenizing.");

        var result = new Dictionary<string, Tensor>();
        try
        {
            foreach (var column in SequenceColumns)
            {
                if (column == "input_ids") result[column] = Pad(ids, length, PadTokenId, device);
                else if (first.ContainsKey(column))
                    result[column] = Pad(features.Select((f, i) => Ints(f, column, i)).ToArray(), length, column == "special_tokens_mask" ? 1 : 0, device);
                else if (column == "attention_mask") // HF's tokenizer.pad adds it: BERT's model inputs include it
                    result[column] = Pad(ids.Select(x => Enumerable.Repeat(1, x.Length).ToArray()).ToArray(), length, 0, device);
            }
            foreach (var column in first.Keys.Where(k => !SequenceColumns.Contains(k)))
            {
                var name = column is "label" or "label_ids" ? "labels" : column;
                result[name] = Scalars(features, column, device);
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return new CollatedBatch(result);
    }

    /// <summary>(batch, length) int64, each row padded on <see cref="PaddingSide"/> with <paramref name="value"/>.</summary>
    Tensor Pad(int[][] rows, int length, long value, Device? device)
    {
        var flat = new long[rows.Length * length];
        Array.Fill(flat, value);
        for (int r = 0; r < rows.Length; r++)
        {
            int offset = r * length + (PaddingSide == "left" ? length - rows[r].Length : 0);
            for (int j = 0; j < rows[r].Length; j++) flat[offset + j] = rows[r][j];
        }
        var t = tensor(flat, [rows.Length, length]);
        return device is null ? t : t.to(device);
    }

    static Tensor Scalars(IReadOnlyList<IReadOnlyDictionary<string, object?>> features, string column, Device? device)
    {
        var values = features.Select((f, i) => f.TryGetValue(column, out var v) ? v
            : throw new ArgumentException($"Example {i} has no '{column}' column, but example 0 has.")).ToArray();
        Tensor t = values[0] switch
        {
            int or long or short or byte => tensor(values.Select(v => Convert.ToInt64(v)).ToArray()),
            float or double => tensor(values.Select(v => Convert.ToSingle(v)).ToArray()),
            bool => tensor(values.Select(v => (bool)v!).ToArray()),
            float[] or double[] => tensor(values.SelectMany(v => ((System.Collections.IEnumerable)v!).Cast<object>().Select(Convert.ToSingle)).ToArray(),
                                          [values.Length, ((Array)values[0]!).Length]), // multi-label targets (batch, num_labels)
            _ => throw new ArgumentException(
                $"Column '{column}' holds {values[0]?.GetType().Name ?? "null"} values, which cannot become a tensor. " +
                $"Remove it before collating (e.g. dataset.RemoveColumns(\"{column}\")), as the course does with sentence1, sentence2 and idx."),
        };
        return device is null ? t : t.to(device);
    }

    static int[] Ints(IReadOnlyDictionary<string, object?> example, string column, int index) =>
        example.TryGetValue(column, out var v) ? v switch
        {
            int[] a => a,
            long[] a => a.Select(x => checked((int)x)).ToArray(),
            IEnumerable<int> e => e.ToArray(),
            IEnumerable<long> e => e.Select(x => checked((int)x)).ToArray(),
            _ => throw new ArgumentException($"Example {index}: '{column}' must be a list of token ids, not {v?.GetType().Name ?? "null"}."),
        }
        : throw new ArgumentException($"Example {index} has no '{column}' column, but example 0 has.");
}
