using System.Globalization;
using System.Text;
using System.Text.Json;
using FineTuning.Training;

namespace FineTuning.FineTune;

/// <summary>One <c>--name</c> option: what <c>--help</c> shows and how the words after it are read.</summary>
/// <param name="Name">snake_case, as run_glue.py spells it.</param>
/// <param name="Group">the <c>--help</c> section: "model arguments", "data arguments" or "training arguments".</param>
/// <param name="Help">the help text (run_glue's / TrainingArguments' where they have one).</param>
/// <param name="Metavar">argparse's placeholder for the value (MAX_SEQ_LENGTH, {no,steps,epoch}, ...).</param>
/// <param name="Choices">the accepted values, when there is a fixed set.</param>
/// <param name="IsFlag">a bool: <c>--name</c> alone is true, <c>--name False</c> / <c>--no_name</c> false.</param>
/// <param name="IsList">takes one or more words.</param>
/// <param name="Required">must be given (unless --help).</param>
/// <param name="Default">the default as Python prints it, from a fresh <see cref="ParsedCommandLine"/>.</param>
/// <param name="Aliases">other accepted names (HF's older or run_classification.py's).</param>
/// <param name="Apply">sets the value from the words that followed the option.</param>
internal sealed record OptionSpec(string Name, string Group, string Help, string Metavar, IReadOnlyList<string>? Choices,
    bool IsFlag, bool IsList, bool Required, Func<ParsedCommandLine, string> Default, IReadOnlyList<string> Aliases,
    Action<ParsedCommandLine, IReadOnlyList<string>> Apply);

/// <summary>What a command line asked for.</summary>
internal sealed class ParsedCommandLine
{
    public FineTuneArguments Data { get; set; } = new();

    /// <summary>The training arguments; OutputDir is "" until --output_dir is read.</summary>
    public TrainingArguments Training { get; set; } = new() { OutputDir = "" };

    /// <summary>-h / --help was given.</summary>
    public bool ShowHelp { get; set; }

    /// <summary>The options given (canonical names), e.g. to tell an explicit --do_eval False from the default.</summary>
    public HashSet<string> Given { get; } = new(StringComparer.Ordinal);
}

/// <summary>A command line that cannot be run as given: printed after the usage line, exit code 2 (as argparse).</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// run_glue.py's command line, read as Hugging Face's <c>HfArgumentParser</c> (argparse) reads it: <c>--name value</c>
/// or <c>--name=value</c>; dashes or underscores (<c>--learning-rate</c>); bools as <c>--fp16</c>, <c>--fp16 True</c>,
/// <c>--fp16 false</c>, <c>--no_pad_to_max_length</c>; lists as several words; a single <c>args.json</c> file instead of
/// options (run_glue's <c>parse_json_file</c>). The options are <see cref="FineTuneArguments.Options"/> and every
/// <see cref="TrainingArguments.CommandLineFields"/> field, so the training options, their defaults and their help come
/// from TrainingArguments' own table.
/// </summary>
internal static class CommandLine
{
    public const string ProgramName = "finetune";

    const string TrainingGroup = "training arguments";
    static readonly string[] Groups = ["model arguments", "data arguments", TrainingGroup];

    /// <summary>Every option, in <c>--help</c> order.</summary>
    public static IReadOnlyList<OptionSpec> Options { get; } =
    [
        .. FineTuneArguments.Options,
        .. TrainingArguments.CommandLineFields.Select(f => new OptionSpec(
            f.Name, TrainingGroup, f.Help,
            f.Choices is not null ? f.Type : f.IsFlag ? "bool" : f.Name.ToUpperInvariant(),
            f.Choices, f.IsFlag, f.IsList, Required: f.Name == "output_dir",
            Default: p => p.Training.CommandLineValue(f.Name),
            Aliases: TrainingArguments.LegacyNames.Where(l => l.Value == f.Name).Select(l => l.Key).ToArray(),
            Apply: (p, words) => p.Training = p.Training.WithCommandLineValue(f.Name, words))),
    ];

    static readonly Dictionary<string, OptionSpec> ByName = Options
        .SelectMany(o => o.Aliases.Prepend(o.Name).Select(n => KeyValuePair.Create(n, o)))
        .ToDictionary(StringComparer.Ordinal);

    /// <summary>Reads a command line.</summary>
    /// <exception cref="UsageException">An unknown option, a missing or malformed value, a required option absent.</exception>
    public static ParsedCommandLine Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Count == 1 && args[0].EndsWith(".json", StringComparison.OrdinalIgnoreCase) && !args[0].StartsWith('-'))
            args = ArgsFromJsonFile(args[0]);

        var parsed = new ParsedCommandLine();
        var unrecognized = new List<string>();
        for (int i = 0; i < args.Count;)
        {
            var token = args[i++];
            if (token is "-h" or "--help")
            {
                parsed.ShowHelp = true;
                continue;
            }
            if (!token.StartsWith("--", StringComparison.Ordinal) || token.Length == 2)
            {
                unrecognized.Add(token);
                continue;
            }
            var (name, inline) = token.IndexOf('=') is var eq and > 0 ? (token[2..eq], token[(eq + 1)..]) : (token[2..], null);
            name = name.Replace('-', '_');
            bool negated = false;
            if (!ByName.TryGetValue(name, out var option) && name.StartsWith("no_", StringComparison.Ordinal)
                && ByName.TryGetValue(name[3..], out var flag) && flag.IsFlag)
                (option, negated) = (flag, true);
            if (option is null)
            {
                unrecognized.Add(token);
                while (i < args.Count && !IsOption(args[i])) unrecognized.Add(args[i++]);
                continue;
            }

            var words = new List<string>();
            if (negated)
            {
                // argparse's store_false: takes no value.
                if (inline is not null) throw new UsageException($"argument --{name}: ignored explicit argument '{inline}'");
                words.Add("False");
            }
            else if (inline is not null) words.Add(inline);
            else if (option.IsList) while (i < args.Count && !IsOption(args[i])) words.Add(args[i++]);
            else if (i < args.Count && !IsOption(args[i])) words.Add(args[i++]);
            if (!negated && words.Count == 0 && !option.IsFlag)
                throw new UsageException($"argument --{option.Name}: expected {(option.IsList ? "at least one argument" : "one argument")}");

            try
            {
                option.Apply(parsed, words);
            }
            catch (ArgumentException e)
            {
                throw new UsageException(Message(e));
            }
            parsed.Given.Add(option.Name);
        }

        if (unrecognized.Count > 0)
            throw new UsageException($"unrecognized arguments: {string.Join(" ", unrecognized)}{Suggestion(unrecognized)}");
        if (parsed.ShowHelp) return parsed;
        var missing = Options.Where(o => o.Required && !parsed.Given.Contains(o.Name)).Select(o => "--" + o.Name).ToList();
        if (missing.Count > 0) throw new UsageException($"the following arguments are required: {string.Join(", ", missing)}");
        return parsed;
    }

    static bool IsOption(string word) => word.StartsWith("--", StringComparison.Ordinal) || word == "-h";

    /// <summary>An ArgumentException's message without .NET's " (Parameter 'x')" suffix.</summary>
    public static string Message(ArgumentException e) =>
        e.ParamName is { } p ? e.Message.Replace($" (Parameter '{p}')", "", StringComparison.Ordinal) : e.Message;

    static string Suggestion(List<string> unrecognized)
    {
        var first = unrecognized.FirstOrDefault(u => u.StartsWith("--", StringComparison.Ordinal));
        if (first is null) return "";
        var name = first[2..].Split('=')[0].Replace('-', '_');
        var best = ByName.Keys.Select(k => (k, d: Distance(k, name))).OrderBy(x => x.d).First();
        return best.d <= Math.Max(2, name.Length / 4) ? $" (did you mean --{best.k}?)" : "";
    }

    static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }

    /// <summary>run_glue's <c>python run_glue.py args.json</c>: a JSON object of option names and values.</summary>
    static List<string> ArgsFromJsonFile(string path)
    {
        if (!File.Exists(path)) throw new UsageException($"arguments file not found: {path}");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new UsageException($"{path}: not valid JSON: {e.Message}");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new UsageException($"{path}: expected a JSON object of argument names and values");
            var args = new List<string>();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                args.Add("--" + p.Name);
                switch (p.Value.ValueKind)
                {
                    case JsonValueKind.True: args.Add("True"); break;
                    case JsonValueKind.False: args.Add("False"); break;
                    case JsonValueKind.Null: args.Add("None"); break;
                    case JsonValueKind.String: args.Add(p.Value.GetString()!); break;
                    case JsonValueKind.Array: args.AddRange(p.Value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText())); break;
                    default: args.Add(p.Value.GetRawText()); break;
                }
            }
            return args;
        }
    }

    // ---- help ----------------------------------------------------------------------------------------------------

    /// <summary>The one-line usage argparse prints before an error.</summary>
    public static string Usage() =>
        $"usage: {ProgramName} [-h] --model_name_or_path MODEL_NAME_OR_PATH --output_dir OUTPUT_DIR [--task_name TASK_NAME]\n"
        + $"       [--train_file TRAIN_FILE] [--validation_file VALIDATION_FILE] [--test_file TEST_FILE] [--do_train] [--do_eval]\n"
        + $"       [--do_predict] [OPTIONS ...]   (all options: {ProgramName} --help)";

    /// <summary>The full <c>--help</c> text: every option with its help and default, grouped as run_glue's.</summary>
    public static string Help(int width = 100)
    {
        var defaults = new ParsedCommandLine();
        var sb = new StringBuilder();
        sb.AppendLine(Usage()).AppendLine();
        Wrap(sb, "Fine-tunes a BERT model for sequence classification on a GLUE task or on your own CSV / TSV / JSON-lines / "
            + "parquet files, and evaluates and predicts with it: the .NET counterpart of Hugging Face's "
            + "examples/pytorch/text-classification/run_glue.py, with the same argument names and output files "
            + "(the model, all_results.json, train_results.json, eval_results.json, trainer_state.json, "
            + "predict_results_<task>.txt) plus report.html. Ctrl+C saves a checkpoint and stops; run the same command "
            + "again (or add --resume_from_checkpoint) to continue.", 0, width);
        sb.AppendLine().AppendLine("options:");
        Entry(sb, "-h, --help", "show this help message and exit", width);
        foreach (var group in Groups)
        {
            sb.AppendLine().AppendLine(group + ":");
            foreach (var o in Options.Where(o => o.Group == group))
            {
                var invocation = "--" + o.Name + (o.IsFlag ? " [True|False]" : o.IsList ? $" {o.Metavar} [{o.Metavar} ...]" : " " + o.Metavar);
                var help = o.Help + (o.Aliases.Count > 0 ? $" (also --{string.Join(", --", o.Aliases)})" : "")
                    + (o.Required ? " (required)" : $" (default: {o.Default(defaults)})");
                Entry(sb, invocation, help, width);
                if (o.IsFlag && o.Default(defaults) == "True")
                    Entry(sb, "--no_" + o.Name, $"Sets {o.Name} to False.", width);
            }
        }
        sb.AppendLine().AppendLine("examples:");
        sb.AppendLine($"  {ProgramName} --model_name_or_path bert-base-uncased --task_name mrpc --data_dir glue_data/MRPC \\");
        sb.AppendLine("      --do_train --do_eval --max_seq_length 128 --per_device_train_batch_size 32 --learning_rate 2e-5 \\");
        sb.AppendLine("      --num_train_epochs 3 --output_dir /tmp/mrpc");
        sb.AppendLine($"  {ProgramName} --model_name_or_path bert-base-uncased --train_file train.csv --validation_file dev.csv \\");
        sb.AppendLine("      --text_columns review --label_column sentiment --do_train --do_eval --output_dir /tmp/reviews");
        return sb.ToString();
    }

    static void Entry(StringBuilder sb, string invocation, string help, int width)
    {
        const int HelpColumn = 24;
        if (invocation.Length + 2 <= HelpColumn - 2)
        {
            sb.Append("  ").Append(invocation.PadRight(HelpColumn - 2));
            Wrap(sb, help, HelpColumn, width, firstLineIndented: true);
        }
        else
        {
            sb.Append("  ").AppendLine(invocation);
            Wrap(sb, help, HelpColumn, width);
        }
    }

    static void Wrap(StringBuilder sb, string text, int indent, int width, bool firstLineIndented = false)
    {
        int column = firstLineIndented ? indent : 0;
        if (!firstLineIndented) { sb.Append(' ', indent); column = indent; }
        bool lineStart = true;
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!lineStart && column + 1 + word.Length > width)
            {
                sb.AppendLine().Append(' ', indent);
                column = indent;
                lineStart = true;
            }
            if (!lineStart) { sb.Append(' '); column++; }
            sb.Append(word);
            column += word.Length;
            lineStart = false;
        }
        sb.AppendLine();
    }
}

/// <summary>Reads the words after a program option, with argparse's messages (and HF's bool spellings).</summary>
internal static class Words
{
    static ArgumentException Error(string name, string detail) => new($"argument --{name}: {detail}", name);

    static string One(string name, IReadOnlyList<string> words) => words.Count == 1
        ? words[0]
        : throw Error(name, words.Count == 0 ? "expected one argument" : $"expected one argument, got {words.Count}: {string.Join(" ", words)}");

    public static bool Bool(string name, IReadOnlyList<string> words) => words.Count == 0 || One(name, words).ToLowerInvariant() switch
    {
        "yes" or "true" or "t" or "y" or "1" => true,
        "no" or "false" or "f" or "n" or "0" => false,
        var w => throw Error(name, $"Truthy value expected: got {w} but expected one of yes/no, true/false, t/f, y/n, 1/0 (case insensitive)."),
    };

    public static string? String(string name, IReadOnlyList<string> words) => One(name, words) is var w && w != "None" ? w : null;

    public static int? Int(string name, IReadOnlyList<string> words)
    {
        var w = One(name, words);
        if (w == "None") return null;
        return int.TryParse(w, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? n : throw Error(name, $"invalid int value: '{w}'");
    }

    public static IReadOnlyList<string>? List(string name, IReadOnlyList<string> words, bool splitCommas)
    {
        if (words.Count == 0) throw Error(name, "expected at least one argument");
        if (words is [ "None" ]) return null;
        var items = splitCommas ? words.SelectMany(w => w.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray() : words.ToArray();
        return items.Length > 0 ? items : throw Error(name, "expected at least one column name");
    }
}
