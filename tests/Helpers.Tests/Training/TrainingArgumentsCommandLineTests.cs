using FineTuning.Training;

namespace FineTuning.Tests.Training;

/// <summary>TrainingArguments read from a command line (HfArgumentParser's rules), described from its field table.</summary>
public class TrainingArgumentsCommandLineTests
{
    static TrainingArguments Args() => new() { OutputDir = "out" };

    [Fact]
    public void Every_json_field_is_a_command_line_field_with_its_default()
    {
        var fields = TrainingArguments.CommandLineFields;
        using var doc = System.Text.Json.JsonDocument.Parse(Args().ToJson());
        Assert.Equal(doc.RootElement.EnumerateObject().Select(p => p.Name).Order(), fields.Select(f => f.Name).Order());
        Assert.All(fields, f => Assert.False(string.IsNullOrWhiteSpace(f.Help), f.Name));

        var byName = fields.ToDictionary(f => f.Name);
        Assert.Equal("5e-05", byName["learning_rate"].Default);
        Assert.Equal("float", byName["learning_rate"].Type);
        Assert.Equal("3.0", byName["num_train_epochs"].Default);
        Assert.Equal("-1", byName["max_steps"].Default);
        Assert.Equal("int", byName["max_steps"].Type);
        Assert.Equal("no", byName["eval_strategy"].Default);
        Assert.Equal(["no", "steps", "epoch"], byName["eval_strategy"].Choices);
        Assert.Equal("{no,steps,epoch,best}", byName["save_strategy"].Type);
        Assert.True(byName["fp16"].IsFlag);
        Assert.Equal("False", byName["fp16"].Default);
        Assert.Equal("True", byName["remove_unused_columns"].Default);
        Assert.True(byName["report_to"].IsList);
        Assert.Equal("none", byName["report_to"].Default);
        Assert.True(byName["eval_steps"].AcceptsNone);
        Assert.Equal("None", byName["eval_steps"].Default);
        Assert.Equal("json", byName["lr_scheduler_kwargs"].Type);
        Assert.True(byName["greater_is_better"].IsFlag);
        Assert.True(byName["greater_is_better"].AcceptsNone);
    }

    [Theory]
    [InlineData("True", true)]
    [InlineData("true", true)]
    [InlineData("yes", true)]
    [InlineData("1", true)]
    [InlineData("False", false)]
    [InlineData("f", false)]
    [InlineData("NO", false)]
    [InlineData("0", false)]
    public void Bools_take_hf_spellings(string word, bool expected)
    {
        Assert.Equal(expected, Args().WithCommandLineValue("fp16", [word]).Fp16);
        Assert.True(Args().WithCommandLineValue("fp16", []).Fp16); // "--fp16" alone
    }

    [Fact]
    public void Values_parse_as_python_writes_them()
    {
        var a = Args()
            .WithCommandLineValue("learning_rate", ["2e-5"])
            .WithCommandLineValue("num_train_epochs", ["1.5"])
            .WithCommandLineValue("max_steps", ["-1"])
            .WithCommandLineValue("eval_strategy", ["Epoch"])
            .WithCommandLineValue("lr_scheduler_type", ["cosine_with_restarts"])
            .WithCommandLineValue("lr_scheduler_kwargs", ["{\"num_cycles\": 2}"])
            .WithCommandLineValue("report_to", ["none"])
            .WithCommandLineValue("label_names", ["labels", "extra"])
            .WithCommandLineValue("save_total_limit", ["None"])
            .WithCommandLineValue("greater_is_better", ["None"])
            .WithCommandLineValue("evaluation_strategy", ["steps"])   // HF's older name
            .WithCommandLineValue("no_cuda", ["True"]);
        Assert.Equal(2e-5, a.LearningRate);
        Assert.Equal(1.5, a.NumTrainEpochs);
        Assert.Equal(-1, a.MaxSteps);
        Assert.Equal(IntervalStrategy.Steps, a.EvalStrategy);
        Assert.Equal(SchedulerType.CosineWithRestarts, a.LrSchedulerType);
        Assert.Equal(2.0, a.LrSchedulerKwargs["num_cycles"]);
        Assert.Equal(["labels", "extra"], a.LabelNames);
        Assert.Null(a.SaveTotalLimit);
        Assert.Null(a.GreaterIsBetter);
        Assert.True(a.UseCpu);
        Assert.Equal("2e-05", a.CommandLineValue("learning_rate"));
        Assert.Equal("steps", a.CommandLineValue("eval_strategy"));
        Assert.Equal("labels extra", a.CommandLineValue("label_names"));
    }

    [Theory]
    [InlineData("learning_rate", "fast", "argument --learning_rate: invalid float value: 'fast'")]
    [InlineData("max_steps", "1.5", "argument --max_steps: invalid int value: '1.5'")]
    [InlineData("eval_strategy", "epochs", "argument --eval_strategy: invalid choice: 'epochs' (choose from 'no', 'steps', 'epoch')")]
    [InlineData("fp16", "maybe", "argument --fp16: Truthy value expected: got maybe")]
    [InlineData("lr_scheduler_kwargs", "num_cycles=2", "argument --lr_scheduler_kwargs: expected a JSON object")]
    [InlineData("learning_rat", "1", "unrecognized training argument: --learning_rat")]
    public void Bad_values_fail_with_argparse_messages(string name, string word, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => Args().WithCommandLineValue(name, [word]));
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void A_single_value_field_rejects_several_words()
    {
        var e = Assert.Throws<ArgumentException>(() => Args().WithCommandLineValue("seed", ["1", "2"]));
        Assert.Contains("expected one argument", e.Message);
        Assert.Equal("seed", e.ParamName);
    }
}
