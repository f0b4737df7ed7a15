namespace FineTuning.FineTune;

/// <summary>
/// run_glue.py's <c>ModelArguments</c> and <c>DataTrainingArguments</c>: the same snake_case names on the command line,
/// the same defaults. The training knobs are <see cref="Training.TrainingArguments"/>, read from the command line
/// through its own field table (<see cref="Training.TrainingArguments.CommandLineFields"/>).
/// </summary>
/// <remarks>Additions to run_glue: <see cref="DataDir"/> (GLUE files on disk; run_glue downloads them),
/// <see cref="TextColumns"/> / <see cref="LabelColumn"/> (run_classification.py's text_column_names /
/// label_column_name: which columns of your own files to use), TSV and parquet files besides CSV and JSON lines,
/// and <see cref="SkipBadRows"/>.</remarks>
public sealed record FineTuneArguments
{
    // ---- Model ---------------------------------------------------------------------------------------------------

    /// <summary><c>model_name_or_path</c>, required: a model folder (config.json, model.safetensors, vocab.txt) or a
    /// Hugging Face Hub id.</summary>
    public string? ModelNameOrPath { get; init; }

    /// <summary><c>tokenizer_name</c>: where the tokenizer is, when not beside the model.</summary>
    public string? TokenizerName { get; init; }

    /// <summary><c>ignore_mismatched_sizes</c>: re-initialise a classifier head of another size instead of failing.</summary>
    public bool IgnoreMismatchedSizes { get; init; }

    // ---- Data ----------------------------------------------------------------------------------------------------

    /// <summary><c>task_name</c>: a GLUE task (cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli, ax).</summary>
    public string? TaskName { get; init; }

    /// <summary><c>data_dir</c>: the folder with the GLUE task's files (GLUE's TSVs or the Hub's parquet files).</summary>
    public string? DataDir { get; init; }

    /// <summary><c>train_file</c>: training data (csv, tsv, json lines, parquet).</summary>
    public string? TrainFile { get; init; }

    /// <summary><c>validation_file</c>: evaluation data, same format.</summary>
    public string? ValidationFile { get; init; }

    /// <summary><c>test_file</c>: data to predict, same format; its labels, if any, are not used.</summary>
    public string? TestFile { get; init; }

    /// <summary><c>text_columns</c>: one or two columns to classify (a pair is encoded as [CLS] a [SEP] b [SEP]).</summary>
    public IReadOnlyList<string>? TextColumns { get; init; }

    /// <summary><c>label_column</c>, default "label".</summary>
    public string LabelColumn { get; init; } = "label";

    /// <summary><c>max_seq_length</c>, default 128: tokens per example after tokenization (longer ones are truncated).</summary>
    public int MaxSeqLength { get; init; } = 128;

    /// <summary><c>pad_to_max_length</c>, default false — the one deliberate difference from run_glue, whose default is
    /// true: false pads each batch to its longest example (dynamic padding, as the lessons teach: on MRPC 2.4× fewer
    /// tokens than padding to 128); true pads every example to <see cref="MaxSeqLength"/>.</summary>
    public bool PadToMaxLength { get; init; }

    /// <summary><c>max_train_samples</c>: keep only the first N training examples.</summary>
    public int? MaxTrainSamples { get; init; }

    /// <summary><c>max_eval_samples</c>: keep only the first N evaluation examples.</summary>
    public int? MaxEvalSamples { get; init; }

    /// <summary><c>max_predict_samples</c>: keep only the first N prediction examples.</summary>
    public int? MaxPredictSamples { get; init; }

    /// <summary><c>skip_bad_rows</c>: skip (and count) malformed rows of your files instead of stopping at the first.</summary>
    public bool SkipBadRows { get; init; }

    /// <summary>The options above, for <see cref="CommandLine"/>: names, run_glue's help texts, how to read each.</summary>
    internal static IReadOnlyList<OptionSpec> Options { get; } =
    [
        Model("model_name_or_path", "Path to pretrained model or model identifier from huggingface.co/models.", "MODEL_NAME_OR_PATH",
            (a, w) => a with { ModelNameOrPath = Words.String("model_name_or_path", w) }, required: true),
        Model("tokenizer_name", "Pretrained tokenizer name or path if not the same as model_name.", "TOKENIZER_NAME",
            (a, w) => a with { TokenizerName = Words.String("tokenizer_name", w) }),
        Flag("model arguments", "ignore_mismatched_sizes", "Will enable to load a pretrained model whose head dimensions are different.",
            a => a.IgnoreMismatchedSizes, (a, w) => a with { IgnoreMismatchedSizes = Words.Bool("ignore_mismatched_sizes", w) }),

        Data("task_name", "The name of the task to train on: " + string.Join(", ", FineTuning.Data.Datasets.GlueTaskNames) + ".", "TASK_NAME",
            (a, w) => a with { TaskName = Words.String("task_name", w) }),
        Data("data_dir", "The folder with the GLUE task's files (GLUE's train.tsv / dev.tsv / test.tsv, or the Hub's "
            + "parquet files), or its parent. Without it the task is downloaded from the Hub where that is available.", "DATA_DIR",
            (a, w) => a with { DataDir = Words.String("data_dir", w) }),
        Data("train_file", "A csv, tsv, json lines or parquet file containing the training data (with --task_name: GLUE's train.tsv).", "TRAIN_FILE",
            (a, w) => a with { TrainFile = Words.String("train_file", w) }),
        Data("validation_file", "A csv, tsv, json lines or parquet file containing the validation data.", "VALIDATION_FILE",
            (a, w) => a with { ValidationFile = Words.String("validation_file", w) }),
        Data("test_file", "A csv, tsv, json lines or parquet file containing the test data.", "TEST_FILE",
            (a, w) => a with { TestFile = Words.String("test_file", w) }),
        new("text_columns", "data arguments", "The column(s) with the text to classify: one, or two for sentence pairs "
            + "(comma- or space-separated). Default: sentence1 and sentence2 if present, else the first one or two text columns.",
            "TEXT_COLUMNS", null, IsFlag: false, IsList: true, Required: false, Default: _ => "None", Aliases: ["text_column_names"],
            Apply: (p, w) => p.Data = p.Data with { TextColumns = Words.List("text_columns", w, splitCommas: true) }),
        new("label_column", "data arguments", "The column with the labels (class names or numbers; decimals mean regression).",
            "LABEL_COLUMN", null, IsFlag: false, IsList: false, Required: false, Default: a => a.Data.LabelColumn, Aliases: ["label_column_name"],
            Apply: (p, w) => p.Data = p.Data with { LabelColumn = Words.String("label_column", w) ?? "label" }),
        Data("max_seq_length", "The maximum total input sequence length after tokenization. Sequences longer than this will be "
            + "truncated, sequences shorter will be padded.", "MAX_SEQ_LENGTH",
            (a, w) => a with { MaxSeqLength = Words.Int("max_seq_length", w) ?? 128 }, a => a.MaxSeqLength.ToString()),
        Flag("data arguments", "pad_to_max_length", "Whether to pad all samples to `max_seq_length`. If False, will pad the samples "
            + "dynamically when batching to the maximum length in the batch (faster). False by default here: the one deliberate "
            + "difference from run_glue, whose default is True.",
            a => a.PadToMaxLength, (a, w) => a with { PadToMaxLength = Words.Bool("pad_to_max_length", w) }),
        Data("max_train_samples", "For debugging purposes or quicker training, truncate the number of training examples to this value if set.",
            "MAX_TRAIN_SAMPLES", (a, w) => a with { MaxTrainSamples = Words.Int("max_train_samples", w) }),
        Data("max_eval_samples", "For debugging purposes or quicker training, truncate the number of evaluation examples to this value if set.",
            "MAX_EVAL_SAMPLES", (a, w) => a with { MaxEvalSamples = Words.Int("max_eval_samples", w) }),
        Data("max_predict_samples", "For debugging purposes or quicker training, truncate the number of prediction examples to this value if set.",
            "MAX_PREDICT_SAMPLES", (a, w) => a with { MaxPredictSamples = Words.Int("max_predict_samples", w) }),
        Flag("data arguments", "skip_bad_rows", "Skip malformed rows of your files (each is reported and counted) instead of stopping at the first.",
            a => a.SkipBadRows, (a, w) => a with { SkipBadRows = Words.Bool("skip_bad_rows", w) }),
    ];

    static OptionSpec Model(string name, string help, string metavar, Func<FineTuneArguments, IReadOnlyList<string>, FineTuneArguments> read,
        bool required = false) =>
        new(name, "model arguments", help, metavar, null, false, false, required, _ => "None", [], (p, w) => p.Data = read(p.Data, w));

    static OptionSpec Data(string name, string help, string metavar, Func<FineTuneArguments, IReadOnlyList<string>, FineTuneArguments> read,
        Func<FineTuneArguments, string>? defaultText = null) =>
        new(name, "data arguments", help, metavar, null, false, false, false, p => defaultText?.Invoke(p.Data) ?? "None", [],
            (p, w) => p.Data = read(p.Data, w));

    static OptionSpec Flag(string group, string name, string help, Func<FineTuneArguments, bool> get,
        Func<FineTuneArguments, IReadOnlyList<string>, FineTuneArguments> read) =>
        new(name, group, help, "bool", null, true, false, false, p => get(p.Data) ? "True" : "False", [], (p, w) => p.Data = read(p.Data, w));
}
