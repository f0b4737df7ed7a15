using System.Collections;
using System.Globalization;
using FineTuning.Data;

namespace FineTuning.FineTune;

/// <summary>One split a run uses: its examples and where they came from (for error messages).</summary>
internal sealed record Split(string Name, Dataset Dataset, string Source);

/// <summary>
/// run_glue.py's data preparation: the splits of a GLUE task or of the user's files, the text columns, the labels
/// (names, or scores for regression), checked so that every mistake is reported with the file and the column.
/// </summary>
internal sealed class RunData
{
    /// <summary>The GLUE task, or null for the user's own files.</summary>
    public string? TaskName { get; private init; }

    public Split? Train { get; private set; }
    public Split? Eval { get; private set; }

    /// <summary>MNLI's validation_mismatched (evaluated as "mnli-mm").</summary>
    public Split? EvalMismatched { get; private set; }

    public Split? Test { get; private set; }

    /// <summary>MNLI's test_mismatched (predicted as "mnli-mm").</summary>
    public Split? TestMismatched { get; private set; }

    /// <summary>One column, or two for sentence pairs.</summary>
    public IReadOnlyList<string> TextColumns { get; private set; } = [];

    /// <summary>The label column in the data as loaded ("label" for GLUE).</summary>
    public string LabelColumn { get; private init; } = "label";

    /// <summary>Numbers with decimals (STS-B, or a float column of your own): one output, MSE loss.</summary>
    public bool IsRegression { get; private set; }

    /// <summary>Classification: the class names in id order (GLUE's, or the sorted distinct training labels as
    /// run_glue's <c>label_list</c>); empty for regression.</summary>
    public IReadOnlyList<string> LabelList { get; private set; } = [];

    public IEnumerable<Split> All => new[] { Train, Eval, EvalMismatched, Test, TestMismatched }.OfType<Split>();

    /// <summary>Loads what <paramref name="doTrain"/> / <paramref name="doEval"/> / <paramref name="doPredict"/> need and checks it.</summary>
    /// <exception cref="FineTuneException">A split that is needed is missing, a column is not there, a label of the
    /// validation or test data was never seen in training, ... (the message names the file and the column).</exception>
    public static RunData Load(FineTuneArguments a, bool doTrain, bool doEval, bool doPredict)
    {
        var data = a.TaskName is { } task ? LoadGlue(a, NormalizeTask(task), doTrain, doEval, doPredict) : LoadFiles(a, doTrain, doEval, doPredict);
        data.ChooseTextColumns(a.TextColumns);
        data.ReadLabels(doTrain, doEval);
        return data;
    }

    /// <summary>"MRPC", "sst-2" → "mrpc", "sst2"; an unknown name lists the tasks.</summary>
    public static string NormalizeTask(string name)
    {
        var task = name.ToLowerInvariant().Replace("-", "", StringComparison.Ordinal);
        return Datasets.GlueTaskNames.Contains(task)
            ? task
            : throw new FineTuneException($"unknown task '{name}' (--task_name); the GLUE tasks are: {string.Join(", ", Datasets.GlueTaskNames)}. "
                + "For your own data leave out --task_name and give --train_file / --validation_file / --test_file.");
    }

    // ---- loading -------------------------------------------------------------------------------------------------

    static RunData LoadGlue(FineTuneArguments a, string task, bool doTrain, bool doEval, bool doPredict)
    {
        bool mnli = task == "mnli";
        string evalSplit = mnli ? "validation_matched" : "validation", testSplit = mnli ? "test_matched" : "test";
        DatasetDict dict;
        var files = new Dictionary<string, string>();
        if (a.TrainFile is { } tf) files["train"] = CheckFile("train_file", tf);
        if (a.ValidationFile is { } vf) files[evalSplit] = CheckFile("validation_file", vf);
        if (a.TestFile is { } sf) files[testSplit] = CheckFile("test_file", sf);
        string where;
        try
        {
            if (files.Count > 0)
            {
                if (a.DataDir is not null)
                    throw new FineTuneException("give either --data_dir (a folder of GLUE files) or --train_file / --validation_file / --test_file, not both");
                dict = Datasets.LoadDataset("glue", task, dataFiles: files, skipBadRows: a.SkipBadRows);
                where = "the files given";
            }
            else
            {
                if (a.DataDir is { } dir && !Directory.Exists(dir))
                    throw new FineTuneException($"--data_dir {dir}: no such folder ({Path.GetFullPath(dir)})");
                dict = Datasets.LoadDataset("glue", task, dataDir: a.DataDir, skipBadRows: a.SkipBadRows);
                where = a.DataDir is null ? "the Hub" : Path.GetFullPath(a.DataDir);
            }
        }
        catch (NotSupportedException e) when (a.DataDir is null && files.Count == 0)
        {
            throw new FineTuneException($"--task_name {task}: the GLUE files could not be downloaded here ({e.Message}). Give the folder "
                + $"that holds them with --data_dir (GLUE's train.tsv, dev.tsv, test.tsv of the task, or the Hub's parquet files), "
                + "or the files themselves with --train_file / --validation_file / --test_file.", e);
        }

        Split? Get(string split, bool needed, string flag)
        {
            if (dict.TryGetValue(split, out var d)) return new(split, d, d.Info.DataFiles.FirstOrDefault() ?? where);
            if (!needed) return null;
            var why = dict.AbsentSplits.TryGetValue(split, out var reason) ? reason : $"not found in {where}";
            throw new FineTuneException($"{flag} needs GLUE {task}'s '{split}' split: {why}"
                + (files.Count > 0 ? $" (give it with --{(split == "train" ? "train" : split.StartsWith("test") ? "test" : "validation")}_file)" : ""));
        }

        return new RunData
        {
            TaskName = task,
            Train = Get("train", doTrain, "--do_train"),
            Eval = Get(evalSplit, doEval, "--do_eval"),
            EvalMismatched = mnli && doEval && files.Count == 0 ? Get("validation_mismatched", true, "--do_eval") : null,
            Test = Get(testSplit, doPredict, "--do_predict"),
            TestMismatched = mnli && doPredict && files.Count == 0 ? Get("test_mismatched", true, "--do_predict") : null,
        };
    }

    static RunData LoadFiles(FineTuneArguments a, bool doTrain, bool doEval, bool doPredict)
    {
        if (a.TrainFile is null && a.ValidationFile is null && a.TestFile is null)
            throw new FineTuneException("Need either a GLUE task (--task_name, with --data_dir) or data files (--train_file, "
                + "--validation_file, --test_file: csv, tsv, json lines or parquet).");
        if (a.DataDir is not null) throw new FineTuneException("--data_dir goes with --task_name (a GLUE task); for your own files use --train_file / --validation_file / --test_file");

        Split? Load(string option, string? path, string split, bool needed, string flag)
        {
            if (path is null)
                return needed ? throw new FineTuneException($"{flag} needs --{option} (a csv, tsv, json lines or parquet file)") : null;
            var format = Path.GetExtension(path).ToLowerInvariant() switch
            {
                ".csv" => "csv",
                ".tsv" or ".tab" => "tsv",
                ".json" or ".jsonl" => "json",
                ".parquet" => "parquet",
                var ext => throw new FineTuneException($"--{option} {path}: '{ext}' files are not read; give a .csv, .tsv, .json / .jsonl (JSON lines) or .parquet file"),
            };
            CheckFile(option, path);
            var d = Datasets.LoadDataset(format, dataFiles: new() { [split] = path }, skipBadRows: a.SkipBadRows)[split];
            return new Split(split, d, path);
        }

        return new RunData
        {
            LabelColumn = a.LabelColumn,
            Train = Load("train_file", a.TrainFile, "train", doTrain, "--do_train"),
            Eval = Load("validation_file", a.ValidationFile, "validation", doEval, "--do_eval"),
            Test = Load("test_file", a.TestFile, "test", doPredict, "--do_predict"),
        };
    }

    static string CheckFile(string option, string path) => File.Exists(path)
        ? path
        : throw new FineTuneException($"--{option} {path}: file not found ({Path.GetFullPath(path)})");

    // ---- columns -------------------------------------------------------------------------------------------------

    void ChooseTextColumns(IReadOnlyList<string>? requested)
    {
        var first = All.First();
        if (requested is not null)
        {
            if (requested.Count is < 1 or > 2)
                throw new FineTuneException($"--text_columns takes one column, or two for sentence pairs; got {requested.Count}: {string.Join(", ", requested)}");
            TextColumns = requested;
        }
        else if (TaskName is not null)
            // GLUE's text features come first, in task_to_keys order (sentence1, sentence2; premise, hypothesis; ...).
            TextColumns = first.Dataset.ColumnNames.Where(c => first.Dataset.Features[c] is Value { Dtype: "string" }).ToArray();
        else
        {
            // run_glue: sentence1 and sentence2 when present, else the first two (or one) other columns; here only text ones.
            var candidates = first.Dataset.ColumnNames
                .Where(c => c != LabelColumn && first.Dataset.Features[c] is Value { Dtype: "string" }).ToList();
            TextColumns = candidates.Contains("sentence1") && candidates.Contains("sentence2") ? ["sentence1", "sentence2"]
                : candidates.Count > 0 ? candidates.Take(2).ToArray()
                : throw new FineTuneException($"{first.Source} has no text column besides the label column '{LabelColumn}' "
                    + $"(its columns: {Columns(first.Dataset)}); name the text with --text_columns");
        }
        foreach (var split in All)
            foreach (var column in TextColumns)
                if (!split.Dataset.Features.ContainsKey(column))
                    throw new FineTuneException($"--text_columns: column '{column}' is not in the {split.Name} data ({split.Source}); "
                        + $"its columns are: {Columns(split.Dataset)}");
    }

    static string Columns(Dataset d) => string.Join(", ", d.ColumnNames);

    // ---- labels --------------------------------------------------------------------------------------------------

    void ReadLabels(bool doTrain, bool doEval)
    {
        // The label column must be in the training and validation data; test data may have none.
        foreach (var split in new[] { Train, Eval, EvalMismatched }.OfType<Split>())
            if (!split.Dataset.Features.ContainsKey(LabelColumn))
                throw new FineTuneException($"--label_column: column '{LabelColumn}' is not in the {split.Name} data ({split.Source}); "
                    + $"its columns are: {Columns(split.Dataset)}");
        CheckEveryRowHasALabel();
        // The type of the labels: those of the first split that has them (none: prediction only, the model decides).
        var feature = new[] { Train, Eval, EvalMismatched, Test, TestMismatched }.OfType<Split>()
            .Select(s => s.Dataset.Features.TryGetValue(LabelColumn, out var f) ? f : null).FirstOrDefault(f => f is not null);

        IsRegression = feature is Value { Dtype: "float32" or "float64" };
        if (IsRegression)
        {
            foreach (var split in new[] { Train, Eval, EvalMismatched }.OfType<Split>())
                if (Array.IndexOf(LabelTexts(split.Dataset, LabelColumn), null) is var missing and >= 0)
                    throw new FineTuneException($"the {split.Name} data ({split.Source}) has no score in column '{LabelColumn}' at data row "
                        + $"{missing + 1}; regression needs a number in every row");
            return;
        }
        if (feature is null) return;

        if (feature is ClassLabel classes)
            LabelList = classes.Names;                                   // GLUE (or a parquet ClassLabel): its names, in its order
        else if (Train is { } train)
        {
            // run_glue: label_list = sorted(unique(train labels)); numbers sort as numbers.
            var texts = LabelTexts(train.Dataset, LabelColumn).OfType<string>().Distinct();
            LabelList = train.Dataset.Features[LabelColumn] is Value { Dtype: "int64" or "int32" }
                ? texts.OrderBy(t => long.Parse(t, CultureInfo.InvariantCulture)).ToArray()
                : texts.Order(StringComparer.Ordinal).ToArray();
            if (LabelList.Count < 2 && doTrain)
                throw new FineTuneException($"the training data ({train.Source}) has {LabelList.Count} distinct label(s) in column '{LabelColumn}'"
                    + (LabelList.Count == 1 ? $" ('{LabelList[0]}')" : "") + "; classification needs at least two");
        }
        else
        {
            // Evaluation or prediction only: the labels of the data seen (the model's own names are preferred later).
            var texts = new[] { Eval, EvalMismatched }.OfType<Split>().SelectMany(s => LabelTexts(s.Dataset, LabelColumn)).OfType<string>().Distinct();
            LabelList = texts.Order(StringComparer.Ordinal).ToArray();
        }

        if (Train is null || feature is ClassLabel) return;
        // Labels of the validation / test data that training never saw: the model cannot predict them.
        var known = LabelList.ToHashSet(StringComparer.Ordinal);
        foreach (var split in new[] { Eval, Test }.OfType<Split>())
        {
            if (!split.Dataset.Features.ContainsKey(LabelColumn)) continue;
            var texts = LabelTexts(split.Dataset, LabelColumn);
            var unseen = texts.Select((t, i) => (t, i)).Where(x => x.t is not null && !known.Contains(x.t)).ToList();
            if (unseen.Count == 0) continue;
            var names = unseen.Select(x => x.t!).Distinct().ToList();
            throw new FineTuneException($"the {split.Name} data ({split.Source}) has label(s) in column '{LabelColumn}' that the training data "
                + $"({Train.Source}) does not: {string.Join(", ", names.Take(10).Select(n => $"'{n}'"))}{(names.Count > 10 ? ", ..." : "")} "
                + $"({unseen.Count} row(s), first at data row {unseen[0].i + 1}). The model only learns the training labels: "
                + $"{string.Join(", ", LabelList.Select(n => $"'{n}'"))}. Fix those rows or add examples of those labels to the training data.");
        }
    }

    /// <summary>
    /// Every row of the training and validation data needs a usable label: a missing one (an empty cell, a JSON line
    /// without the key, a ClassLabel's -1) used to become id -1 and crash libtorch's loss — after the whole training run
    /// when the row was in the validation file — and a NaN or infinite score made the loss NaN. Refused here, when the
    /// data is read, naming the file, the line (or row) and the column.
    /// </summary>
    void CheckEveryRowHasALabel()
    {
        foreach (var split in new[] { Train, Eval, EvalMismatched }.OfType<Split>())
        {
            var d = split.Dataset;
            if (!d.Features.ContainsKey(LabelColumn)) continue;
            var feature = d.Features[LabelColumn];
            var raw = d[LabelColumn];
            for (int i = 0; i < d.Count; i++)
            {
                var problem = raw[i] switch
                {
                    null => "the label is missing (an empty cell, a null, or a JSON line without this key)",
                    string { Length: 0 } => "the label is missing (an empty cell)",
                    long id when feature is ClassLabel && id < 0 => $"the label is missing (class id {id}, which means 'no label')",
                    double x when !double.IsFinite(x) => $"the label {PythonRepr.Float(x)} is not a finite number (a NaN or infinite label makes the loss NaN)",
                    float x when !float.IsFinite(x) => $"the label {PythonRepr.Float(x)} is not a finite number (a NaN or infinite label makes the loss NaN)",
                    _ => null,
                };
                if (problem is null) continue;
                var path = d.Info.DataFiles.Count == 1 ? d.Info.DataFiles[0] : split.Source;
                int? line = d.Info.Lines is { } lines && i < lines.Count ? lines[i] : null;
                throw new DatasetFormatException(path, line, LabelColumn, (line is null ? $"{d.Info.Where(i)}: " : "") + problem
                    + $"; every row of the {split.Name} data needs a label. Fix or remove the row.");
            }
        }
    }

    /// <summary>Prediction only, without labels in the data: the fine-tuned model's labels decide (its id2label, or
    /// one output for regression).</summary>
    public void UseModelLabels(IReadOnlyDictionary<int, string> id2label, string? problemType)
    {
        if (LabelList.Count > 0 || IsRegression) return;
        IsRegression = problemType == "regression" || id2label.Count == 1;
        if (!IsRegression) LabelList = id2label.OrderBy(p => p.Key).Select(p => p.Value).ToArray();
    }

    /// <summary>Each row's label as text (a class name, or a number as written), null where there is none.</summary>
    public static string?[] LabelTexts(Dataset d, string column)
    {
        if (!d.Features.ContainsKey(column)) return new string?[d.Count];
        if (d.Features[column] is ClassLabel c)
            return d.Column<long>(column).Select(id => id >= 0 && id < c.NumClasses ? c.Names[(int)id] : null).ToArray();
        return d[column].Select(v => v switch
        {
            null => null,
            string s => s.Length == 0 ? null : s,
            IFormattable x => x.ToString(null, CultureInfo.InvariantCulture),
            _ => v.ToString(),
        }).ToArray();
    }

    /// <summary>
    /// The split with a "label" column the Trainer reads: class ids by <paramref name="labelToId"/> (-1 where a
    /// test row has none), or float scores for regression; the original label column is dropped when it had another name.
    /// </summary>
    public Dataset WithLabelIds(Split split, IReadOnlyDictionary<string, int>? labelToId)
    {
        var d = split.Dataset;
        if (!d.Features.ContainsKey(LabelColumn)) return d;
        var texts = LabelTexts(d, LabelColumn);
        IList column;
        if (IsRegression)
        {
            var scores = new List<float>(d.Count);
            var raw = d[LabelColumn];
            for (int i = 0; i < d.Count; i++) scores.Add(raw[i] is null ? float.NaN : Convert.ToSingle(raw[i], CultureInfo.InvariantCulture));
            column = scores;
        }
        else
        {
            var ids = new List<long>(d.Count);
            for (int i = 0; i < d.Count; i++)
            {
                if (texts[i] is not { } t) ids.Add(-1);
                else if (labelToId!.TryGetValue(t, out var id)) ids.Add(id);
                else if (split == Test || split == TestMismatched) ids.Add(-1);     // test labels are not used
                else throw new FineTuneException($"the {split.Name} data ({split.Source}), data row {i + 1}: label '{t}' is not one of the "
                    + $"model's labels ({string.Join(", ", labelToId.Keys.Select(k => $"'{k}'"))})");
            }
            column = ids;
        }
        // batchSize 0: the whole split in one batch (HF's batch_size=None).
        return d.Map(_ => new Dictionary<string, IList> { ["label"] = column }, batched: true, batchSize: 0,
            removeColumns: LabelColumn == "label" ? null : [LabelColumn]);
    }
}
