using System.Text.RegularExpressions;
using FineTuning.Hub;

namespace FineTuning.Data;

/// <summary>
/// HF <c>datasets.load_dataset</c>: GLUE tasks (downloaded from the Hub, or local original TSVs / Hub parquet files),
/// and the user's own csv / tsv / json-lines / parquet files. Every format problem raises
/// <see cref="DatasetFormatException"/> naming the file, the 1-based line and the column; a missing file raises
/// <see cref="FileNotFoundException"/> naming it.
/// </summary>
public static class Datasets
{
    /// <summary>The GLUE task names <c>LoadDataset("glue", name)</c> accepts.</summary>
    public static IReadOnlyList<string> GlueTaskNames { get; } = GlueTask.All.Select(t => t.Name).ToArray();

    /// <summary>
    /// Loads a dataset's splits.
    /// <list type="bullet">
    /// <item><c>LoadDataset("glue", "mrpc")</c> (also "nyu-mll/glue"): the task's parquet files from the Hub's dataset
    /// repository, in its layout (<c>mrpc/train-00000-of-00001.parquet</c>, <c>mrpc/validation-…</c>, <c>mrpc/test-…</c>),
    /// downloaded once into the cache Python's huggingface_hub uses (<c>datasets--nyu-mll--glue</c>), then read as
    /// below. A split the repository lacks is left out. When the Hub is offline or unreachable and the cache lacks the
    /// task, MRPC is read from the copy shipped in the repository's <c>data/glue/mrpc</c> (train and validation; the log
    /// says so).</item>
    /// <item><c>LoadDataset("glue", "mrpc", dataDir: folder)</c>: <paramref name="dataDir"/>
    /// (or its subfolder named like the task: MRPC, SST-2, mrpc, ...) holds either the Hub's parquet files
    /// (<c>train-00000-of-00001.parquet</c>, <c>validation-…</c>, <c>test-…</c>), which win when both are there, or
    /// GLUE's TSVs (train.tsv, dev.tsv → "validation", test.tsv; MNLI dev_matched.tsv → "validation_matched", ...).
    /// A split whose file is absent is left out and listed in <see cref="DatasetDict.AbsentSplits"/>; asking for it
    /// names the missing file. Columns and labels are HF's (<c>sentence1, sentence2, label, idx</c> for MRPC).</item>
    /// <item><c>LoadDataset("csv" | "tsv" | "json" | "parquet", dataFiles: new() { ["train"] = "a.csv", ... })</c>:
    /// csv is RFC 4180 (quotes, delimiter <paramref name="delimiter"/>, default ','); tsv is tab-separated without
    /// quoting (like GLUE); json is JSON lines (one object per line). A header row names the columns; integer
    /// columns become int64, numeric ones float64, the rest string.</item>
    /// </list>
    /// </summary>
    /// <param name="path">"glue" (or "nyu-mll/glue"), "csv", "tsv", "json" or "parquet".</param>
    /// <param name="name">the GLUE task (cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli, ax).</param>
    /// <param name="dataFiles">split → file, for csv / tsv / json / parquet; for "glue", GLUE's .tsv files (or the Hub's
    /// .parquet files) of the task under any name, e.g. <c>new() { ["train"] = "MRPC/train.tsv" }</c>.</param>
    /// <param name="dataDir">the folder holding the GLUE task's files (or, for the other formats, files named by split).</param>
    /// <param name="delimiter">csv / tsv field separator (default ',' for csv, tab for tsv).</param>
    /// <param name="labelNames">the class names of <paramref name="labelColumn"/> (default column "label").</param>
    /// <param name="labelColumn">user files: the column to turn into a <see cref="ClassLabel"/> — with
    /// <paramref name="labelNames"/> when given (cells are names or ids), otherwise the sorted distinct values of all
    /// splits (HF <c>class_encode_column</c>).</param>
    /// <param name="skipBadRows">skip bad rows (ragged, bad label, bad JSON) instead of failing; each is logged
    /// (<see cref="Logging.Warning"/>) and counted in <see cref="DatasetInfo.SkippedRows"/>.</param>
    /// <param name="revision">GLUE from the Hub: the dataset repository's branch, tag or commit (default "main").</param>
    /// <param name="hub">GLUE from the Hub: endpoint, cache, token, offline mode; default <see cref="HubSettings.Default"/>
    /// or the environment (HF_ENDPOINT, HF_HOME, HF_TOKEN, HF_HUB_OFFLINE, ...).</param>
    public static DatasetDict LoadDataset(string path, string? name = null, Dictionary<string, string>? dataFiles = null,
        string? dataDir = null, bool skipBadRows = false, char? delimiter = null, string? labelColumn = null,
        IReadOnlyList<string>? labelNames = null, string? revision = null, HubSettings? hub = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        switch (path.ToLowerInvariant())
        {
            case "glue":
            case "nyu-mll/glue":
                if (name is null)
                    throw new ArgumentException($"GLUE needs a task name, e.g. LoadDataset(\"glue\", \"mrpc\", ...); valid: {string.Join(", ", GlueTaskNames)}", nameof(name));
                var task = GlueTask.Get(name);
                if (dataFiles is not null) return LoadGlueFiles(task, dataFiles, skipBadRows);
                if (dataDir is not null) return LoadGlue(task, dataDir, skipBadRows);
                string hubFolder;
                try
                {
                    hubFolder = DownloadGlue(path, task, revision, hub);
                }
                catch (LocalEntryNotFoundException e) when (BundledGlue.Folder(task.Name, revision) is { } bundled)
                {
                    BundledGlue.LogFallback(task.Name, bundled, e);
                    return LoadGlue(task, bundled, skipBadRows);
                }
                return LoadGlue(task, hubFolder, skipBadRows);
            case "csv":
            case "tsv":
            case "json":
            case "parquet":
                var files = dataFiles ?? (dataDir is not null ? FilesBySplit(dataDir, path.ToLowerInvariant() switch
                    { "json" => ["*.jsonl", "*.json"], var e => [$"*.{e}"] }) : null);
                if (files is null || files.Count == 0)
                    throw new ArgumentException($"LoadDataset(\"{path}\") needs dataFiles, e.g. new() {{ [\"train\"] = \"train.{path}\" }}" +
                        (dataDir is null ? "" : $" (no .{path} files in {PathDisplay.WithFullPath(dataDir)})"), nameof(dataFiles));
                return LoadUserFiles(path.ToLowerInvariant(), files, skipBadRows, delimiter, labelColumn, labelNames);
            default:
                throw new NotSupportedException(
                    $"unknown dataset '{path}': use \"glue\" (with a task name), \"csv\", \"tsv\", \"json\" or \"parquet\" (with dataFiles); " +
                    "from the Hub only GLUE is downloaded: for another dataset, download its parquet files and use LoadDataset(\"parquet\", dataFiles: ...)");
        }
    }

    /// <summary>
    /// The GLUE task's parquet files from the Hub's dataset repository ("glue" is the legacy name of nyu-mll/glue; the
    /// Hub redirects it), one <c>{task}/{split}-00000-of-00001.parquet</c> per split, into the shared cache. Returns
    /// the snapshot's task folder.
    /// </summary>
    static string DownloadGlue(string repoId, GlueTask task, string? revision, HubSettings? settings)
    {
        var hub = new HubSnapshot(new HubRepo(repoId, RepoType.Dataset), revision ?? "main", HubSettings.Resolve(settings));
        var files = task.Splits.Select(s => $"{task.Name}/{s.Split}-00000-of-00001.parquet").ToList();
        var found = files.Where(f => hub.Get(f, required: false) is not null).ToList();
        if (found.Count == 0)
        {
            try
            {
                hub.Get(files[0], required: true); // the precise reason: not cached while offline, no connection, ...
            }
            catch (LocalEntryNotFoundException e)
            {
                throw new LocalEntryNotFoundException($"GLUE {task.Name}: {e.Message}", hub.Repo.Id, files[0], hub.Revision, e.InnerException);
            }
            catch (EntryNotFoundException)
            {
            }
            throw new EntryNotFoundException(
                $"GLUE {task.Name}: {hub.Repo} has none of {string.Join(", ", files)} (revision {hub.Revision}); " +
                $"check {hub.Settings.DisplayEndpoint}/{hub.Repo.UrlPath}/tree/{Uri.EscapeDataString(hub.Revision)}/{task.Name}, or pass dataDir.",
                hub.Repo.Id, files[0], hub.Revision, null);
        }
        return Path.Combine(hub.Folder, task.Name);
    }

    static DatasetDict LoadGlue(GlueTask task, string dataDir, bool skipBadRows)
    {
        if (!Directory.Exists(dataDir)) throw new DirectoryNotFoundException($"GLUE {task.Name}: data folder not found: {PathDisplay.WithFullPath(dataDir)}");
        string[] folders = [dataDir, Path.Combine(dataDir, task.Folder), Path.Combine(dataDir, task.Name)];
        var splits = new List<KeyValuePair<string, Dataset>>();
        var absent = new Dictionary<string, string>();

        // The Hub layout (parquet) first.
        foreach (var folder in folders.Where(Directory.Exists))
        {
            var parquet = FilesBySplit(folder, ["*.parquet"]);
            if (parquet.Count == 0) continue;
            foreach (var (split, _) in task.Splits)
            {
                if (parquet.TryGetValue(split, out var file))
                    splits.Add(KeyValuePair.Create(split, task.FromParquet(ReadParquetShards(file), file)));
                else
                    absent[split] = $"no {split}-*.parquet in {folder}";
            }
            return new DatasetDict(splits, absent);
        }

        // GLUE's TSV layout.
        var tsvFolder = folders.FirstOrDefault(f => Directory.Exists(f) && task.Splits.Any(s => s.Files.Any(n => File.Exists(Path.Combine(f, n)))));
        if (tsvFolder is null)
        {
            var expected = task.Splits.SelectMany(s => s.Files).ToList();
            string first = Path.Combine(dataDir, expected[0]);
            throw new FileNotFoundException(
                $"GLUE {task.Name}: no data files in {PathDisplay.WithFullPath(dataDir)} (nor in its {task.Folder}/ or {task.Name}/ subfolder): expected " +
                $"GLUE's {string.Join(", ", expected)} or the Hub's {task.Splits[0].Split}-00000-of-00001.parquet", first);
        }
        foreach (var (split, names) in task.Splits)
        {
            var file = names.Select(n => Path.Combine(tsvFolder, n)).FirstOrDefault(File.Exists);
            if (file is null)
            {
                absent[split] = $"{string.Join(" or ", names)} is not in {tsvFolder}";
                Logging.Info($"GLUE {task.Name}: no '{split}' split ({absent[split]})");
                continue;
            }
            splits.Add(KeyValuePair.Create(split, task.ReadTsv(file, new BadRows(skipBadRows))));
        }
        return new DatasetDict(splits, absent);
    }

    /// <summary>A GLUE task's splits from named files: GLUE's TSV layout (.tsv) or the Hub's parquet files (.parquet).</summary>
    static DatasetDict LoadGlueFiles(GlueTask task, Dictionary<string, string> dataFiles, bool skipBadRows)
    {
        var splits = new List<KeyValuePair<string, Dataset>>();
        foreach (var (split, file) in dataFiles)
        {
            var first = file.Split('|')[0];
            if (!File.Exists(first)) throw new FileNotFoundException($"GLUE {task.Name} '{split}' file not found: {PathDisplay.WithFullPath(first)}", first);
            var dataset = Path.GetExtension(first).ToLowerInvariant() switch
            {
                ".tsv" => task.ReadTsv(first, new BadRows(skipBadRows), isTest: split.StartsWith("test", StringComparison.Ordinal)),
                ".parquet" => task.FromParquet(ReadParquetShards(file), first),
                var ext => throw new NotSupportedException(
                    $"GLUE {task.Name} '{split}' file {first}: '{ext}' is not a GLUE file; give GLUE's .tsv or the Hub's .parquet " +
                    "(for a CSV or JSON-lines file of your own, load it with \"csv\" / \"json\")"),
            };
            splits.Add(KeyValuePair.Create(split, dataset));
        }
        return new DatasetDict(splits);
    }

    /// <summary>split → file(s) in a folder, by HF's naming: <c>{split}-00000-of-00001.ext</c>, <c>{split}-*.ext</c>,
    /// <c>{split}.ext</c>; several shards of one split are joined by '|' and read in name order.</summary>
    static Dictionary<string, string> FilesBySplit(string folder, string[] patterns)
    {
        var result = new Dictionary<string, string>();
        if (!Directory.Exists(folder)) return result;
        var files = patterns.SelectMany(p => Directory.GetFiles(folder, p)).Distinct().Order(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var stem = Path.GetFileNameWithoutExtension(file);
            var m = Regex.Match(stem, @"^(?<split>.+?)(-\d{5}-of-\d{5}|-.*)?$");
            var split = m.Groups["split"].Value;
            result[split] = result.TryGetValue(split, out var existing) ? existing + "|" + file : file;
        }
        return result;
    }

    static Dataset ReadParquetShards(string files)
    {
        var shards = files.Split('|').Select(ParquetFiles.Read).ToList();
        return shards.Count == 1 ? shards[0] : Concatenate(shards);
    }

    static Dataset Concatenate(List<Dataset> parts)
    {
        var first = parts[0];
        var columns = new Dictionary<string, System.Collections.IList>(StringComparer.Ordinal);
        foreach (var name in first.ColumnNames)
        {
            var list = ColumnLists.New(first.Features[name].ClrType, parts.Sum(p => p.Count));
            foreach (var part in parts)
            {
                if (!part.Features.ContainsKey(name) || part.Features[name] != first.Features[name])
                    throw new DatasetFormatException(part.Info.DataFiles.FirstOrDefault() ?? "?", null, name,
                        $"the shards of one split disagree on column '{name}' ({first.Features[name]} in {first.Info.DataFiles.FirstOrDefault()})");
                ColumnLists.AddRange(list, part.RawColumn(name));
            }
            columns[name] = list;
        }
        return new Dataset(first.Features, columns,
            new DatasetInfo(parts.SelectMany(p => p.Info.DataFiles).ToArray(), parts.Sum(p => p.Info.SkippedRows)));
    }

    static DatasetDict LoadUserFiles(string format, Dictionary<string, string> dataFiles, bool skipBadRows, char? delimiter,
        string? labelColumn, IReadOnlyList<string>? labelNames)
    {
        if (labelNames is not null) labelColumn ??= "label";
        if (format == "parquet")
        {
            var parquet = dataFiles.Select(f => KeyValuePair.Create(f.Key, ReadParquetShards(f.Value))).ToList();
            var dict = new DatasetDict(parquet);
            if (labelColumn is null) return dict;
            return labelNames is null ? dict.ClassEncodeColumn(labelColumn)
                : new DatasetDict(dict.Select(s => KeyValuePair.Create(s.Key, s.Value.CastColumn(labelColumn, new ClassLabel(labelNames)))));
        }

        var tables = new List<(string Split, RawTable Table, BadRows Bad)>();
        foreach (var (split, file) in dataFiles)
        {
            var bad = new BadRows(skipBadRows);
            var table = format switch
            {
                "json" => UserFiles.ReadJsonLines(file, bad),
                "tsv" => UserFiles.ReadDelimited(file, delimiter ?? '\t', quoting: false, bad),
                _ => UserFiles.ReadDelimited(file, delimiter ?? ',', quoting: true, bad),
            };
            tables.Add((split, table, bad));
        }
        var fixedFeatures = new Dictionary<string, FeatureType>();
        if (labelColumn is not null)
        {
            var label = labelNames is not null
                ? new ClassLabel(labelNames)
                : new ClassLabel(tables.SelectMany(t => t.Table.Rows.Select(r => r[t.Table.Index(labelColumn, "the label column")]))
                    .Where(v => v is not null)
                    .Select(v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)!)
                    .Distinct().Order(StringComparer.Ordinal));
            foreach (var (_, table, bad) in tables)
                UserFiles.EncodeLabels(table, labelColumn, label, bad);
            fixedFeatures[labelColumn] = label;
        }
        return new DatasetDict(tables.Select(t => KeyValuePair.Create(t.Split, UserFiles.ToDataset(t.Table, fixedFeatures, t.Bad.Count))));
    }
}
