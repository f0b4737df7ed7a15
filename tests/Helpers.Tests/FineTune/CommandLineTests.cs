using FineTuning.FineTune;
using FineTuning.Training;

namespace FineTuning.Tests.FineTune;

/// <summary>finetune's command line: run_glue's names and defaults, HfArgumentParser's spellings, argparse's errors.</summary>
public class CommandLineTests
{
    static readonly string[] Required = ["--model_name_or_path", "m", "--output_dir", "out"];

    static ParsedCommandLine Parse(params string[] args) => CommandLine.Parse([.. Required, .. args]);

    [Fact]
    public void Defaults_are_run_glues()
    {
        var p = Parse();
        Assert.Equal("m", p.Data.ModelNameOrPath);
        Assert.Equal("out", p.Training.OutputDir);
        Assert.Equal(128, p.Data.MaxSeqLength);
        Assert.False(p.Data.PadToMaxLength);   // the one deliberate difference: run_glue pads to max_seq_length by default
        Assert.Null(p.Data.TaskName);
        Assert.Equal("label", p.Data.LabelColumn);
        Assert.Null(p.Data.MaxTrainSamples);
        Assert.Equal(new TrainingArguments { OutputDir = "out" }, p.Training);
    }

    [Fact]
    public void Reads_run_glues_mrpc_command()
    {
        var p = Parse("--task_name", "MRPC", "--do_train", "--do_eval", "--max_seq_length", "64", "--per_device_train_batch_size", "32",
            "--learning_rate", "2e-5", "--num_train_epochs", "3", "--eval_strategy", "epoch", "--save_strategy=epoch", "--bf16", "False",
            "--fp16", "false", "--seed", "7", "--resume_from_checkpoint", "out/checkpoint-10", "--report_to", "none", "--overwrite_output_dir");
        Assert.Equal("MRPC", p.Data.TaskName);
        Assert.Equal(64, p.Data.MaxSeqLength);
        var t = p.Training;
        Assert.True(t.DoTrain);
        Assert.True(t.DoEval);
        Assert.False(t.DoPredict);
        Assert.Equal(32, t.PerDeviceTrainBatchSize);
        Assert.Equal(2e-5, t.LearningRate);
        Assert.Equal(3.0, t.NumTrainEpochs);
        Assert.Equal(IntervalStrategy.Epoch, t.EvalStrategy);
        Assert.Equal(SaveStrategy.Epoch, t.SaveStrategy);
        Assert.False(t.Bf16);
        Assert.False(t.Fp16);
        Assert.Equal(7, t.Seed);
        Assert.Equal("out/checkpoint-10", t.ResumeFromCheckpoint);
        Assert.True(t.OverwriteOutputDir);
    }

    [Fact]
    public void Accepts_dashes_no_prefix_lists_and_aliases()
    {
        var p = Parse("--per-device-train-batch-size", "4", "--no_pad_to_max_length", "--no-remove-unused-columns",
            "--text_columns", "title,body", "--label_column_name", "stars", "--evaluation_strategy", "steps", "--eval_steps", "0.5",
            "--max_steps", "-1", "--label_names", "labels", "extra");
        Assert.Equal(4, p.Training.PerDeviceTrainBatchSize);
        Assert.False(p.Data.PadToMaxLength);
        Assert.False(p.Training.RemoveUnusedColumns);
        Assert.Equal(["title", "body"], p.Data.TextColumns);
        Assert.Equal("stars", p.Data.LabelColumn);
        Assert.Equal(IntervalStrategy.Steps, p.Training.EvalStrategy);
        Assert.Equal(0.5, p.Training.EvalSteps);
        Assert.Equal(-1, p.Training.MaxSteps);
        Assert.Equal(["labels", "extra"], p.Training.LabelNames);
        Assert.Equal(["a", "b"], Parse("--text_columns", "a", "b").Data.TextColumns);
    }

    [Fact]
    public void Reads_an_arguments_json_file_as_run_glue_does()
    {
        using var dir = new TempFolder();
        var path = dir.Write("args.json", """
            {"model_name_or_path": "m", "output_dir": "o", "task_name": "rte", "do_train": true, "learning_rate": 3e-5,
             "max_train_samples": 10, "report_to": ["none"], "pad_to_max_length": false}
            """);
        var p = CommandLine.Parse([path]);
        Assert.Equal("rte", p.Data.TaskName);
        Assert.True(p.Training.DoTrain);
        Assert.Equal(3e-5, p.Training.LearningRate);
        Assert.Equal(10, p.Data.MaxTrainSamples);
        Assert.False(p.Data.PadToMaxLength);
        Assert.Equal("o", p.Training.OutputDir);
    }

    [Theory]
    [InlineData(new[] { "--learning_rate", "fast" }, "argument --learning_rate: invalid float value: 'fast'")]
    [InlineData(new[] { "--max_seq_length", "long" }, "argument --max_seq_length: invalid int value: 'long'")]
    [InlineData(new[] { "--eval_strategy", "epochs" }, "argument --eval_strategy: invalid choice: 'epochs' (choose from 'no', 'steps', 'epoch')")]
    [InlineData(new[] { "--do_train", "maybe" }, "argument --do_train: Truthy value expected: got maybe")]
    [InlineData(new[] { "--learning_rte", "1e-4" }, "unrecognized arguments: --learning_rte 1e-4 (did you mean --learning_rate?)")]
    [InlineData(new[] { "stray" }, "unrecognized arguments: stray")]
    [InlineData(new[] { "--seed" }, "argument --seed: expected one argument")]
    [InlineData(new[] { "--no_pad_to_max_length", "x" }, "unrecognized arguments: x")]
    public void Bad_values_are_usage_errors(string[] args, string message)
    {
        var e = Assert.Throws<UsageException>(() => Parse(args));
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void Required_arguments_are_named()
    {
        var e = Assert.Throws<UsageException>(() => CommandLine.Parse(["--do_train"]));
        Assert.Equal("the following arguments are required: --model_name_or_path, --output_dir", e.Message);
        Assert.True(CommandLine.Parse(["--help"]).ShowHelp); // --help needs nothing else
    }

    [Fact]
    public void Help_lists_every_argument_with_its_default()
    {
        var help = System.Text.RegularExpressions.Regex.Replace(CommandLine.Help(), @"\s+", " ");   // unwrapped
        foreach (var name in new[] { "model_name_or_path", "task_name", "train_file", "validation_file", "test_file", "text_columns",
                     "label_column", "max_seq_length", "pad_to_max_length", "max_train_samples", "max_eval_samples", "max_predict_samples",
                     "data_dir", "do_train", "do_eval", "do_predict", "output_dir", "overwrite_output_dir" })
            Assert.Contains("--" + name, help);
        foreach (var field in TrainingArguments.CommandLineFields)
            Assert.Contains("--" + field.Name + " ", help);
        Assert.Contains("--learning_rate LEARNING_RATE", help);
        Assert.Contains("The initial learning rate for AdamW. (default: 5e-05)", help);
        Assert.Contains("--eval_strategy {no,steps,epoch}", help);
        Assert.Contains("(default: 128)", help);
        Assert.Contains("--pad_to_max_length [True|False]", help);
    }

    [Fact]
    public void Pads_dynamically_by_default_and_help_says_it_differs_from_run_glue()
    {
        var help = System.Text.RegularExpressions.Regex.Replace(CommandLine.Help(), @"\s+", " ");
        var entry = help[help.IndexOf("--pad_to_max_length", StringComparison.Ordinal)..];
        entry = entry[..entry.IndexOf("--max_train_samples", StringComparison.Ordinal)];
        Assert.Contains("False by default here: the one deliberate difference from run_glue, whose default is True.", entry);
        Assert.Contains("(default: False)", entry);
        Assert.True(Parse("--pad_to_max_length").Data.PadToMaxLength);
        Assert.True(Parse("--pad_to_max_length", "True").Data.PadToMaxLength);
        Assert.False(Parse("--pad_to_max_length", "False").Data.PadToMaxLength);
        Assert.False(Parse("--no_pad_to_max_length").Data.PadToMaxLength);
    }
}
