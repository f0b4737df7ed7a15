using System.Collections;
using System.Globalization;

namespace FineTuning.Data;

/// <summary>
/// One GLUE task: its HF column names and label classes, and where its original TSV files (those of the GLUE
/// download script) keep them — the header names HF's <c>glue.py</c> reads in <c>_generate_examples</c>.
/// </summary>
/// <param name="Name">HF config name: cola, sst2, mrpc, ...</param>
/// <param name="Folder">the task's folder in the GLUE download (CoLA, SST-2, MRPC, ...).</param>
/// <param name="Text">HF feature → TSV header column.</param>
/// <param name="LabelHeader">TSV header column of the label (absent from test files: label -1).</param>
/// <param name="LabelNames">class names, or null for STS-B's float32 score.</param>
/// <param name="Splits">split → TSV file names (the first that exists is read).</param>
internal sealed record GlueTask(string Name, string Folder, (string Feature, string Header)[] Text, string LabelHeader,
    string[]? LabelNames, (string Split, string[] Files)[] Splits)
{
    static readonly (string, string[])[] Standard = [("train", ["train.tsv"]), ("validation", ["dev.tsv"]), ("test", ["test.tsv"])];

    public static IReadOnlyList<GlueTask> All { get; } =
    [
        new("cola", "CoLA", [("sentence", "sentence")], "is_acceptable", ["unacceptable", "acceptable"], Standard),
        new("sst2", "SST-2", [("sentence", "sentence")], "label", ["negative", "positive"], Standard),
        new("mrpc", "MRPC", [("sentence1", "#1 String"), ("sentence2", "#2 String")], "Quality", ["not_equivalent", "equivalent"], Standard),
        new("qqp", "QQP", [("question1", "question1"), ("question2", "question2")], "is_duplicate", ["not_duplicate", "duplicate"], Standard),
        new("stsb", "STS-B", [("sentence1", "sentence1"), ("sentence2", "sentence2")], "score", null, Standard),
        new("mnli", "MNLI", [("premise", "sentence1"), ("hypothesis", "sentence2")], "gold_label", ["entailment", "neutral", "contradiction"],
            [("train", ["train.tsv"]), ("validation_matched", ["dev_matched.tsv"]), ("validation_mismatched", ["dev_mismatched.tsv"]),
             ("test_matched", ["test_matched.tsv"]), ("test_mismatched", ["test_mismatched.tsv"])]),
        new("qnli", "QNLI", [("question", "question"), ("sentence", "sentence")], "label", ["entailment", "not_entailment"], Standard),
        new("rte", "RTE", [("sentence1", "sentence1"), ("sentence2", "sentence2")], "label", ["entailment", "not_entailment"], Standard),
        new("wnli", "WNLI", [("sentence1", "sentence1"), ("sentence2", "sentence2")], "label", ["not_entailment", "entailment"], Standard),
        new("ax", "diagnostic", [("premise", "sentence1"), ("hypothesis", "sentence2")], "label", ["entailment", "neutral", "contradiction"],
            [("test", ["AX.tsv", "diagnostic.tsv"])]),
    ];

    public static GlueTask Get(string name) =>
        All.FirstOrDefault(t => t.Name == name.ToLowerInvariant().Replace("-", ""))
        ?? throw new ArgumentException($"unknown GLUE task '{name}'; valid: {string.Join(", ", All.Select(t => t.Name))}", nameof(name));

    /// <summary>HF's features: the text columns, label (ClassLabel or float32), idx (int32).</summary>
    public Features Features => new([
        .. Text.Select(t => (t.Feature, (FeatureType)new Value("string"))),
        ("label", LabelNames is null ? new Value("float32") : new ClassLabel(LabelNames)),
        ("idx", new Value("int32"))]);

    /// <summary>
    /// One split from its TSV: read with quoting off (GLUE's strings hold unbalanced quotes), columns found by the
    /// header, idx = 0-based data row of the file. CoLA's train/dev files have no header: label is field 2, the
    /// sentence field 4.
    /// </summary>
    /// <param name="path">the TSV file.</param>
    /// <param name="bad">skips or rethrows bad rows.</param>
    /// <param name="isTest">whether the file is a test split (no labels; CoLA's has a header); default: its name starts with "test".</param>
    public Dataset ReadTsv(string path, BadRows bad, bool? isTest = null)
    {
        var lines = TextFile.ReadLines(path);
        var records = DelimitedReader.Read(lines, '\t', quoting: false).ToList();
        bool test = isTest ?? Path.GetFileName(path).StartsWith("test", StringComparison.OrdinalIgnoreCase);
        bool headerless = Name == "cola" && !test;
        string[] header = headerless ? ["source", "is_acceptable", "original_label", "sentence"] : records[0].Fields;
        int headerLine = headerless ? 0 : records[0].Line;
        var dataRows = headerless ? records : records.Skip(1).ToList();

        int[] textIndex = Text.Select(t => Find(path, header, headerLine, t.Header, $"HF '{t.Feature}'")).ToArray();
        int labelIndex = Array.IndexOf(header, LabelHeader);
        if (labelIndex < 0 && !test && Name != "ax") Find(path, header, headerLine, LabelHeader, "HF 'label'");
        var label = LabelNames is null ? null : new ClassLabel(LabelNames);

        var texts = Text.Select(_ => new List<string?>(dataRows.Count)).ToArray();
        var labels = new List<long>(dataRows.Count);
        var scores = new List<float>(dataRows.Count);
        var idx = new List<int>(dataRows.Count);
        for (int n = 0; n < dataRows.Count; n++)
        {
            var r = dataRows[n];
            try
            {
                if (r.Fields.Length != header.Length)
                    throw new DatasetFormatException(path, r.Line, null,
                        $"{r.Fields.Length} tab-separated field(s), but {(headerless ? "CoLA rows have" : "the header has")} {header.Length} ({string.Join(", ", header)})");
                if (label is not null)
                    labels.Add(labelIndex < 0 ? -1 : UserFiles.LabelId(path, r.Line, LabelHeader, r.Fields[labelIndex], label));
                else
                    scores.Add(labelIndex < 0 ? -1f
                        : !float.TryParse(r.Fields[labelIndex], NumberStyles.Float, CultureInfo.InvariantCulture, out float s)
                            ? throw new DatasetFormatException(path, r.Line, LabelHeader, $"score '{r.Fields[labelIndex]}' is not a number")
                        : !float.IsFinite(s)
                            ? throw new DatasetFormatException(path, r.Line, LabelHeader,
                                $"score '{r.Fields[labelIndex]}' is not a finite number (a NaN or infinite label makes the loss NaN)")
                        : s);
                for (int t = 0; t < Text.Length; t++) texts[t].Add(r.Fields[textIndex[t]]);
                idx.Add(n);
            }
            catch (DatasetFormatException e) when (bad.Skip(e)) { }
        }
        var columns = new Dictionary<string, IList>(StringComparer.Ordinal);
        for (int t = 0; t < Text.Length; t++) columns[Text[t].Feature] = texts[t];
        columns["label"] = label is null ? scores : labels;
        columns["idx"] = idx;
        return new Dataset(Features, columns, new DatasetInfo([path], bad.Count));
    }

    static int Find(string path, string[] header, int headerLine, string column, string role) =>
        Array.IndexOf(header, column) is var i and >= 0
            ? i
            : throw new DatasetFormatException(path, headerLine, column,
                $"the header has no column '{column}' ({role}); it has {header.Length} tab-separated column(s): " +
                string.Join(", ", header.Select(h => $"'{h}'")) + (header.Length == 1 ? " (is the file tab-separated?)" : ""));

    /// <summary>A Hub parquet split given this task's features: columns checked, label ids checked against the classes.</summary>
    public Dataset FromParquet(Dataset raw, string path)
    {
        var columns = new Dictionary<string, IList>(StringComparer.Ordinal);
        foreach (var (name, feature) in Features)
        {
            if (!raw.Features.ContainsKey(name))
                throw new DatasetFormatException(path, null, name,
                    $"the parquet file has no column '{name}' (GLUE {Name} needs {string.Join(", ", Features.Keys)}); it has: {string.Join(", ", raw.ColumnNames)}");
            var source = raw.RawColumn(name);
            IList list = feature switch
            {
                ClassLabel c => raw.Column<long>(name).Select((v, i) => v >= -1 && v < c.NumClasses ? v
                    : throw new DatasetFormatException(path, null, name, $"row {i} (0-based): label {v} is out of range [0, {c.NumClasses})")).ToList(),
                Value { Dtype: "int32" } when source is List<long> longs => longs.Select(v => checked((int)v)).ToList(),
                Value { Dtype: "float32" } when source is List<double> doubles => doubles.Select(v => (float)v).ToList(),
                _ when ColumnLists.ElementType(source) == feature.ClrType => source,
                _ => throw new DatasetFormatException(path, null, name,
                    $"column '{name}' holds {ColumnLists.ElementType(source).Name} values; GLUE {Name} needs {feature}"),
            };
            columns[name] = list;
        }
        return new Dataset(Features, columns, raw.Info);
    }
}
