using FineTuning.Data;

namespace FineTuning.Tests.Data;

/// <summary>Bad input files: every error names the file and, where it applies, the 1-based line and the column.</summary>
public sealed class DatasetFormatErrorTests : IDisposable
{
    const string MrpcHeader = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n";
    readonly TempFolder tmp = new();

    public void Dispose() => tmp.Dispose();

    /// <summary>Asserts a DatasetFormatException located at file / line / column, in the properties and the message.</summary>
    static DatasetFormatException Located(Action load, string file, int? line, string? column = null)
    {
        var e = Assert.Throws<DatasetFormatException>(load);
        Assert.Equal(file, e.FilePath);
        Assert.Equal(line, e.Line);
        Assert.StartsWith(file, e.Message);
        if (line is { } l) Assert.Contains($"line {l}", e.Message);
        if (column is not null)
        {
            Assert.Equal(column, e.Column);
            Assert.Contains($"'{column}'", e.Message);
        }
        return e;
    }

    DatasetDict Mrpc() => Datasets.LoadDataset("glue", "mrpc", dataDir: tmp.Path);

    DatasetDict Load(string format, string file, IReadOnlyList<string>? labelNames = null) =>
        Datasets.LoadDataset(format, dataFiles: new() { ["train"] = file }, labelNames: labelNames);

    [Fact]
    public void Glue_Ragged_Row_Names_The_Line()
    {
        var file = tmp.Write("train.tsv", MrpcHeader + "1\t1\t2\tA\tB\n0\t3\t4\tonly four fields\n");
        var e = Located(() => Mrpc(), file, 3);
        Assert.Contains("4 tab-separated field(s), but the header has 5", e.Message);
    }

    [Fact]
    public void Glue_Non_Integer_Label_Names_Line_And_Column()
    {
        var file = tmp.Write("train.tsv", MrpcHeader + "yes\t1\t2\tA\tB\n");
        Assert.Contains("label 'yes' is neither a class name", Located(() => Mrpc(), file, 2, "Quality").Message);
    }

    [Fact]
    public void Glue_Label_Out_Of_Range_Names_Line_And_Column()
    {
        var file = tmp.Write("dev.tsv", MrpcHeader + "1\t1\t2\tA\tB\n1\t1\t2\tA\tB\n2\t1\t2\tC\tD\n");
        Assert.Contains("label 2 is out of range", Located(() => Mrpc(), file, 4, "Quality").Message);
    }

    [Fact]
    public void Empty_File_Is_Named()
    {
        var file = tmp.WriteBytes("train.tsv", [0xEF, 0xBB, 0xBF]); // a BOM and nothing else
        Assert.Contains("empty", Located(() => Mrpc(), file, null).Message);
        var csv = tmp.Write("empty.csv", "");
        Assert.Contains("empty", Located(() => Load("csv", csv), csv, null).Message);
    }

    [Fact]
    public void Missing_Header_Column_Lists_The_Available_Ones()
    {
        var file = tmp.Write("train.tsv", "Quality\t#1 ID\t#2 ID\t#1 String\n1\t1\t2\tA\n");
        var e = Located(() => Mrpc(), file, 1, "#2 String");
        Assert.Contains("'Quality', '#1 ID', '#2 ID', '#1 String'", e.Message);
    }

    [Fact]
    public void Invalid_Utf8_Names_The_Line()
    {
        var bytes = new System.Text.UTF8Encoding(false).GetBytes(MrpcHeader + "1\t1\t2\tA\tB\n1\t1\t2\tcaf").Concat(new byte[] { 0xE9, (byte)'\t', (byte)'x', (byte)'\n' }).ToArray();
        var file = tmp.WriteBytes("train.tsv", bytes);
        Assert.Contains("invalid UTF-8 (byte 0xE9 at byte 10 of the line)", Located(() => Mrpc(), file, 3).Message);
    }

    [Fact]
    public void Comma_Separated_File_Read_As_Tsv_Reports_One_Column()
    {
        var file = tmp.Write("train.tsv", "Quality,#1 ID,#2 ID,#1 String,#2 String\n1,1,2,A,B\n");
        var e = Located(() => Mrpc(), file, 1, "#1 String");
        Assert.Contains("1 tab-separated column(s)", e.Message);
        Assert.Contains("is the file tab-separated?", e.Message);
    }

    [Fact]
    public void Glue_Folder_Without_Files_Names_The_Expected_Files()
    {
        var e = Assert.Throws<FileNotFoundException>(() => Mrpc());
        Assert.Contains(tmp.Path, e.Message);
        Assert.Contains("train.tsv, dev.tsv, test.tsv", e.Message);
        Assert.Equal(Path.Combine(tmp.Path, "train.tsv"), e.FileName);
    }

    [Fact]
    public void Unknown_Glue_Task_Lists_Valid_Tasks()
    {
        var e = Assert.Throws<ArgumentException>(() => Datasets.LoadDataset("glue", "mrcp", dataDir: tmp.Path));
        Assert.Contains("'mrcp'", e.Message);
        Assert.Contains("cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli, ax", e.Message);
    }

    [Fact]
    public void Missing_Data_File_Is_Named()
    {
        var missing = Path.Combine(tmp.Path, "nope.csv");
        var e = Assert.Throws<FileNotFoundException>(() => Load("csv", missing));
        Assert.Equal(missing, e.FileName);
        Assert.Contains(missing, e.Message);
    }

    [Fact]
    public void Csv_Ragged_Row_Names_The_Line()
    {
        var file = tmp.Write("a.csv", "text,label\n\"a, b\",1\nc,0,extra\n");
        Assert.Contains("3 field(s), but the header has 2", Located(() => Load("csv", file), file, 3).Message);
    }

    [Fact]
    public void Csv_Unterminated_Quote_Names_The_Line_Where_It_Opens()
    {
        var file = tmp.Write("a.csv", "text,label\nok,1\n\"never closed,1\nmore,0\n");
        Assert.Contains("never closed", Located(() => Load("csv", file), file, 3).Message);
    }

    [Fact]
    public void Csv_Text_After_Closing_Quote_Names_The_Line()
    {
        var file = tmp.Write("a.csv", "text,label\n\"quoted\"x,1\n");
        Assert.Contains("after a closing quote", Located(() => Load("csv", file), file, 2).Message);
    }

    [Fact]
    public void Csv_Duplicate_Header_Names_The_Column()
    {
        var file = tmp.Write("a.csv", "text,text\na,b\n");
        Located(() => Load("csv", file), file, 1, "text");
    }

    [Fact]
    public void Csv_Unknown_Label_Name_Names_Line_And_Column()
    {
        var file = tmp.Write("a.csv", "text,label\na,pos\nb,neutral\n");
        var e = Located(() => Load("csv", file, ["neg", "pos"]), file, 3, "label");
        Assert.Contains("'neutral' is neither a class name (neg, pos) nor an integer", e.Message);
    }

    [Fact]
    public void Csv_Label_Id_Out_Of_Range_Names_Line_And_Column()
    {
        var file = tmp.Write("a.csv", "text,label\na,1\nb,5\n");
        Assert.Contains("label 5 is out of range", Located(() => Load("csv", file, ["neg", "pos"]), file, 3, "label").Message);
    }

    [Fact]
    public void Tsv_File_Without_Label_Column_Lists_Columns()
    {
        var file = tmp.Write("a.tsv", "text,label\na,1\n"); // commas: one column for a TSV reader
        var e = Located(() => Load("tsv", file, ["neg", "pos"]), file, null, "label");
        Assert.Contains("'text,label'", e.Message);
    }

    [Fact]
    public void Json_Invalid_Line_Names_The_Line()
    {
        var file = tmp.Write("a.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": }\n");
        Assert.Contains("invalid JSON", Located(() => Load("json", file), file, 2).Message);
    }

    [Fact]
    public void Json_Line_That_Is_Not_An_Object_Names_The_Line()
    {
        var file = tmp.Write("a.jsonl", "{\"text\": \"a\"}\n\n[1, 2]\n");
        Assert.Contains("not an object", Located(() => Load("json", file), file, 3).Message);
    }

    [Fact]
    public void Json_Field_Changing_Type_Names_Line_And_Field()
    {
        var file = tmp.Write("a.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": \"one\"}\n");
        Assert.Contains("a string here, but a integer", Located(() => Load("json", file), file, 2, "label").Message);
    }

    [Fact]
    public void Json_Missing_Number_Names_Line_And_Field()
    {
        var file = tmp.Write("a.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\"}\n");
        Assert.Contains("missing or null", Located(() => Load("json", file), file, 2, "label").Message);
    }

    [Fact]
    public void Stsb_Non_Numeric_Score_Names_Line_And_Column()
    {
        var file = tmp.Write("train.tsv", "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n" +
            "0\tg\tf\t2012\t1\ts\ts\tA\tB\tfive\n");
        Assert.Contains("'five' is not a number", Located(() => Datasets.LoadDataset("glue", "stsb", dataDir: tmp.Path), file, 2, "score").Message);
    }

    [Fact]
    public void Parquet_Missing_Column_Lists_The_Columns()
    {
        var file = Path.Combine(tmp.Path, "train-00000-of-00001.parquet");
        DatasetLoadingTests.WriteMrpcParquet(file, ["a"], ["b"], [1], [0]);
        // An MRPC-shaped file where QQP (question1, question2, label, idx) is asked for.
        var e = Located(() => Datasets.LoadDataset("glue", "qqp", dataDir: tmp.Path), file, null, "question1");
        Assert.Contains("it has: sentence1, sentence2, label, idx", e.Message);
    }

    [Fact]
    public void Parquet_Label_Out_Of_Range_Names_File_And_Column()
    {
        var file = Path.Combine(tmp.Path, "mrpc", "train-00000-of-00001.parquet");
        DatasetLoadingTests.WriteMrpcParquet(file, ["a", "b"], ["c", "d"], [1, 7], [0, 1]);
        Assert.Contains("row 1 (0-based): label 7 is out of range", Located(() => Mrpc(), file, null, "label").Message);
    }

    [Fact]
    public void Not_A_Parquet_File_Is_Named()
    {
        var file = tmp.Write("train.parquet", "sentence1,sentence2\na,b\n");
        Assert.Contains("not a readable parquet file", Located(() => Load("parquet", file), file, null).Message);
    }
}
