using System.Collections;
using FineTuning.Data;
using FineTuning.Tests.Training;
using FineTuning.Training;

namespace FineTuning.Tests.Data;

/// <summary>
/// Labels that cannot be trained on are refused when the data is read (naming the file, the line or row, the column),
/// and by the Trainer before its first step: a missing label used to become id -1 and end in libtorch's "Target -1 is
/// out of bounds" (after the whole run when the row was in the validation set), and a NaN score in a NaN loss.
/// </summary>
public class LabelValidationTests
{
    [Fact]
    public void A_Parquet_ClassLabel_Out_Of_Range_Names_The_File_Row_And_Column()
    {
        using var dir = new TempFolder();
        var path = DatasetLoadingTests.WriteMrpcParquet(dir.File("train.parquet"), ["a", "b", "c"], ["x", "y", "z"], [1, 0, 5], [0, 1, 2], hfMetadata: true);
        var e = Assert.Throws<DatasetFormatException>(() => Datasets.LoadDataset("parquet", dataFiles: new() { ["train"] = path }));
        Assert.Equal($"{path}, column 'label': row 3: label 5 is out of range: 2 classes (not_equivalent, equivalent) take 0..1 (-1 = no label)", e.Message);
    }

    [Theory]
    [InlineData("nan")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    public void A_Non_Finite_StsB_Score_Is_Refused_Naming_The_Line(string score)
    {
        using var dir = new TempFolder();
        dir.Write("train.tsv", "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
            + "0\tg\tf\t2012\t0\ts\ts\tA .\tB .\t3.5\n1\tg\tf\t2012\t0\ts\ts\tA .\tB .\t" + score + "\n");
        var e = Assert.Throws<DatasetFormatException>(() => Datasets.LoadDataset("glue", "stsb", dataDir: dir.Path));
        Assert.Equal($"{dir.File("train.tsv")}, line 3, column 'score': score '{score}' is not a finite number (a NaN or infinite label makes the loss NaN)", e.Message);
    }

    [Fact]
    public void Csv_Rows_Keep_Their_Line_Numbers_Through_Select()
    {
        using var dir = new TempFolder();
        var path = dir.Write("train.csv", "text,label\n\"two\nlines\",a\nx,b\n\ny,a\n");
        var d = Datasets.LoadDataset("csv", dataFiles: new() { ["train"] = path })["train"];
        Assert.Equal([2, 4, 6], d.Info.Lines);
        Assert.Equal("line 6", d.Select([2, 0]).Info.Where(0));
        Assert.Equal("data row 1", d.Map(b => new Dictionary<string, IList> { ["n"] = new List<long> { 1 } }, batched: true, batchSize: 0,
                                            removeColumns: ["text", "label"]).Info.Where(0));
    }

    [Theory]
    [InlineData(-1, "is -1; class ids go from 0 to 1 (-1 means 'no label', as in GLUE's test split)")]
    [InlineData(2, "is 2; class ids go from 0 to 1")]
    public void The_Trainer_Refuses_A_Label_The_Loss_Cannot_Use_Before_Any_Step(long bad, string problem)
    {
        using var dir = new TempFolder();
        var rows = TinyTraining.MarkerTask(8, seed: 1);
        var labels = rows["label"].Select(v => Convert.ToInt64(v)).ToList();
        labels[5] = bad;
        var train = rows.RemoveColumns("label").Map(_ => new Dictionary<string, IList> { ["label"] = labels }, batched: true, batchSize: 0);
        using var model = TinyTraining.Model();
        var trainer = new Trainer(model, TinyTraining.Args(dir.Path) with { MaxSteps = 2, SaveStrategy = SaveStrategy.Steps, SaveSteps = 1 }, train);
        var e = Assert.Throws<ArgumentException>(() => trainer.Train());
        Assert.StartsWith($"The training set's 'label' of row 5 {problem}: the loss cannot use it.", e.Message);
        Assert.Equal(0, trainer.State.GlobalStep);
        Assert.Empty(Directory.GetDirectories(dir.Path));
    }
}
