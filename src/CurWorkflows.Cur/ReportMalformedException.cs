using System.Text;

namespace CurWorkflows.Cur;

/// <summary>
/// A report file (or manifest) that cannot be read as a CUR: bad zip or gzip, a missing required column,
/// a value that is not a number or a date, a row with the wrong number of fields. Never retried.
/// </summary>
public sealed class ReportMalformedException : CurException
{
    public ReportMalformedException(string file, long? line, int? column, string? columnName, string problem, Exception? innerException = null)
        : base(CurErrorCodes.ReportMalformed, Format(file, line, column, columnName, problem), innerException)
    {
        File = file;
        Line = line;
        Column = column;
        ColumnName = columnName;
        Problem = problem;
    }

    /// <summary>The file (object key or path) that is malformed.</summary>
    public string File { get; }

    /// <summary>1-based line of the decompressed CSV where the offending record starts (the header is line 1), if known.</summary>
    public long? Line { get; }

    /// <summary>1-based field number within the record, if the problem is tied to one field.</summary>
    public int? Column { get; }

    /// <summary>The header name of <see cref="Column"/>, when known.</summary>
    public string? ColumnName { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Problem { get; }

    private static string Format(string file, long? line, int? column, string? columnName, string problem)
    {
        var text = new StringBuilder("report_malformed: file '").Append(file).Append('\'');
        if (line is { } l)
        {
            text.Append(", line ").Append(l);
        }

        if (column is { } c)
        {
            text.Append(", column ").Append(c);
            if (columnName is not null)
            {
                text.Append(" (").Append(columnName).Append(')');
            }
        }

        return text.Append(": ").Append(problem).ToString();
    }
}
