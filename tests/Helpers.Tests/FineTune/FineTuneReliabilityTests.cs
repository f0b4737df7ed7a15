using FineTuning.FineTune;
using FineTuning.Training;

namespace FineTuning.Tests.FineTune;

/// <summary>
/// finetune against the defects hostile testing found (issue 17): missing or non-finite labels refused when the data is
/// read, before any training; a finished run re-run stays finished; a tokenizer bigger than the model refused when both
/// are loaded; options named with their minimum; messages that name flags; output files that stay one line per example.
/// </summary>
public class FineTuneReliabilityTests
{
    static string Model => SharedFixtures.Path("fixtures", "pretrained-tiny");

    sealed record Result(int ExitCode, string Output, string Error);

    static Result Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = FineTuneProgram.Run(args, output, error, default, []);
        return new Result(code, output.ToString(), error.ToString());
    }

    static string Rows(int count, int start = 0) => string.Concat(Enumerable.Range(start, count).Select(i =>
        i % 2 == 0 ? $"good film number {i},positive\n" : $"bad film number {i},negative\n"));

    static string[] Args(TempFolder dir, string train, string validation, params string[] more) =>
        ["--model_name_or_path", Model, "--train_file", train, "--validation_file", validation, "--max_seq_length", "32",
         "--per_device_train_batch_size", "8", "--disable_tqdm", "true", "--output_dir", dir.File("out"), .. more];

    [FixtureTheory("fixtures", "pretrained-tiny")]
    [InlineData("train.csv")]
    [InlineData("dev.csv")]
    public void A_Missing_Csv_Label_Is_Refused_Before_Training_Naming_File_Line_And_Column(string where)
    {
        using var dir = new TempFolder();
        var bad = "text,label\n" + Rows(6) + "a film with no label,\n" + Rows(3, 10);
        var train = dir.Write("train.csv", where == "train.csv" ? bad : "text,label\n" + Rows(16));
        var dev = dir.Write("dev.csv", where == "dev.csv" ? bad : "text,label\n" + Rows(4));
        var r = Run(Args(dir, train, dev, "--do_train", "--do_eval", "--max_steps", "2"));
        Assert.Equal(1, r.ExitCode);
        Assert.True(r.Error.Contains($"error: {dir.File(where)}, line 8, column 'label': the label is missing (an empty cell); every row of the {(where == "train.csv" ? "train" : "validation")} data needs a label"), r.Error);
        Assert.DoesNotContain("Target", r.Error);
        Assert.False(Directory.Exists(dir.File("out")) && Directory.EnumerateFileSystemEntries(dir.File("out")).Any(e => !e.EndsWith(".trainer.lock")));
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void A_Json_Line_Without_The_Label_Key_Is_Refused_Naming_The_Line()
    {
        using var dir = new TempFolder();
        var train = dir.Write("train.jsonl", "{\"text\": \"good\", \"label\": \"positive\"}\n{\"text\": \"bad\", \"label\": \"negative\"}\n\n{\"text\": \"so-so\"}\n");
        var dev = dir.Write("dev.csv", "text,label\n" + Rows(4));
        var r = Run(Args(dir, train, dev, "--do_train", "--max_steps", "1"));
        Assert.Equal(1, r.ExitCode);
        Assert.True(r.Error.Contains($"error: {train}, line 4, column 'label': the label is missing"), r.Error);
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void A_NaN_Or_Infinite_Regression_Label_Is_Refused_Naming_The_Line()
    {
        using var dir = new TempFolder();
        var train = dir.Write("train.csv", "text,score\na,0.5\nb,1.5\nc,NaN\n");
        var dev = dir.Write("dev.csv", "text,score\na,0.5\nb,Infinity\n");
        var r = Run(Args(dir, train, dev, "--do_train", "--do_eval", "--max_steps", "1", "--label_column", "score"));
        Assert.Equal(1, r.ExitCode);
        Assert.True(r.Error.Contains($"error: {train}, line 4, column 'score': the label nan is not a finite number"), r.Error);
        File.WriteAllText(train, "text,score\na,0.5\nb,1.5\n");
        r = Run(Args(dir, train, dev, "--do_train", "--do_eval", "--max_steps", "1", "--label_column", "score"));
        Assert.True(r.Error.Contains($"error: {dev}, line 3, column 'score': the label inf is not a finite number"), r.Error);
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Rerunning_A_Finished_Command_Does_Not_Train_Past_Max_Steps()
    {
        using var dir = new TempFolder();
        var train = dir.Write("train.csv", "text,label\n" + Rows(16));  // 2 steps an epoch: max_steps 3 ends mid-epoch
        var dev = dir.Write("dev.csv", "text,label\n" + Rows(4));
        var args = Args(dir, train, dev, "--do_train", "--max_steps", "3", "--save_steps", "1");
        for (int run = 0; run < 3; run++)
        {
            var r = Run(args);
            Assert.True(r.ExitCode == 0, r.Error);
            Assert.Equal(["checkpoint-1", "checkpoint-2", "checkpoint-3"],
                         Directory.GetDirectories(dir.File("out")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            Assert.Equal(3, TrainerState.LoadFromJson(Path.Combine(dir.File("out"), "trainer_state.json")).GlobalStep);
        }
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void A_Tokenizer_Bigger_Than_The_Models_Vocabulary_Is_Refused_When_Both_Are_Loaded()
    {
        using var dir = new TempFolder();
        var vocab = File.ReadAllLines(Path.Combine(Model, "vocab.txt")).Concat(Enumerable.Range(0, 10).Select(i => $"extra{i}"));
        File.WriteAllLines(dir.File("vocab.txt"), vocab);
        var train = dir.Write("train.csv", "text,label\n" + Rows(16));
        var dev = dir.Write("dev.csv", "text,label\n" + Rows(4));
        var r = Run(Args(dir, train, dev, "--do_train", "--max_steps", "1", "--tokenizer_name", dir.Path));
        Assert.Equal(1, r.ExitCode);
        Assert.True(r.Error.Contains($"error: --tokenizer_name {dir.Path}: The tokenizer has"), r.Error);
        Assert.Contains("leave out --tokenizer_name", r.Error);
        Assert.DoesNotContain("index out of range", r.Error);
    }

    [FixtureTheory("fixtures", "pretrained-tiny")]
    [InlineData("1", "argument --max_seq_length: must be at least 3 for single sentences ([CLS], [SEP] and one token of text), got 1")]
    [InlineData("2", "argument --max_seq_length: must be at least 3 for single sentences ([CLS], [SEP] and one token of text), got 2")]
    public void Max_Seq_Length_Below_The_Minimum_Names_The_Option_And_The_Minimum(string length, string message)
    {
        using var dir = new TempFolder();
        var train = dir.Write("train.csv", "text,label\n" + Rows(16));
        var dev = dir.Write("dev.csv", "text,label\n" + Rows(4));
        var r = Run([.. Args(dir, train, dev, "--do_train", "--max_steps", "1"), "--max_seq_length", length]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Error);
    }

    [FixtureFact("fixtures", "pretrained-tiny")]
    public void A_Full_Disk_At_The_Final_Save_Leaves_No_Model_Files_And_The_Same_Command_Runs_Again()
    {
        using var dir = new TempFolder();
        var train = dir.Write("train.csv", "text,label\n" + Rows(16));
        var dev = dir.Write("dev.csv", "text,label\n" + Rows(4));
        var args = Args(dir, train, dev, "--do_train", "--max_steps", "1", "--save_strategy", "no");
        Result r;
        using (new FineTuning.Tests.Reliability.FailingDisk(p => p.Contains("/.saved-model.") && p.Contains("vocab"), afterBytes: 10))
            r = Run(args);
        Assert.Equal(1, r.ExitCode);
        Assert.True(r.Error.Contains("Could not save the model to") && r.Error.Contains("Nothing of it was kept"), r.Error);
        Assert.Empty(Directory.GetFileSystemEntries(dir.File("out")));   // no model file, and the lock file goes with the lock
        r = Run(args); // used to be refused: "already exists and is not empty"
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.True(File.Exists(Path.Combine(dir.File("out"), "vocab.txt")));
    }

    [Fact]
    public void Output_Dir_None_Is_Refused()
    {
        var r = Run("--model_name_or_path", "x", "--train_file", "t.csv", "--do_train", "--output_dir", "None");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("argument --output_dir: 'None' is Python's None, not a folder", r.Error);
        Assert.False(Directory.Exists("None"));
    }

    [Fact]
    public void Predict_Results_Keep_One_Line_Per_Example_When_A_Label_Has_A_Tab_Or_Newline()
    {
        var text = MetricsFiles.PredictResults(["plain", "with\ttab", "two\nlines", "cr\rlf"]);
        Assert.Equal("index\tprediction\n0\tplain\n1\twith\\ttab\n2\ttwo\\nlines\n3\tcr\\rlf\n", text);
    }

    [Fact]
    public void Library_Advice_Reaches_The_Command_Line_As_Flags()
    {
        var mismatch = FineTuneProgram.InFlags("size mismatch ...\n\tYou may consider adding `ignoreMismatchedSizes: true` in the model `FromPretrained` method.");
        Assert.EndsWith("You may consider adding --ignore_mismatched_sizes to the command line.", mismatch);
        var column = FineTuneProgram.InFlags("Column 'idx' holds String values, which cannot become a tensor. Remove it before collating (e.g. dataset.RemoveColumns(\"idx\")), as the course does with sentence1, sentence2 and idx.");
        Assert.DoesNotContain("RemoveColumns", column);
        Assert.Contains("--remove_unused_columns", column);
    }
}
