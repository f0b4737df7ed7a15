namespace FineTuning.NotebookRunner.Tests;

public class CellDirectivesTests
{
    [Fact]
    public void Directives_Are_Taken_Out_And_Their_Lines_Kept_Empty()
    {
        var (code, directives) = CellDirectives.Parse(
            "#r \"nuget: TorchSharp-cpu, 0.107.0\"\n#r \"nuget:Plotly.NET\"\n#r \"../lib/My.dll\"\n#i \"nuget: /feed\"\n#!time\nvar x = 1;");

        Assert.Equal("\n\n\n\n\nvar x = 1;", code);
        Assert.Equal(
            [DirectiveKind.NuGetReference, DirectiveKind.NuGetReference, DirectiveKind.FileReference, DirectiveKind.PackageSource, DirectiveKind.OtherMagic],
            directives.Select(d => d.Kind));
        Assert.Equal(("TorchSharp-cpu", "0.107.0"), (directives[0].Argument, directives[0].Version));
        Assert.Equal(("Plotly.NET", null), (directives[1].Argument, directives[1].Version));
        Assert.Equal("../lib/My.dll", directives[2].Argument);
        Assert.Equal(5, directives[4].Line);
    }

    [Fact]
    public void After_A_Language_Switch_The_Rest_Of_The_Cell_Is_Not_CSharp()
    {
        var (code, directives) = CellDirectives.Parse("var a = 1;\n#!fsharp\nlet b = 2");

        Assert.Equal("var a = 1;\n\n", code);
        Assert.Equal(DirectiveKind.OtherLanguage, directives.Single().Kind);
    }

    [Fact]
    public void An_Unreadable_Reference_Names_Its_Line()
    {
        var error = Assert.Throws<FormatException>(() => CellDirectives.Parse("var a = 1;\n#r nuget:Foo"));
        Assert.Contains("line 2", error.Message);
    }
}
