using System.Globalization;
using System.Text;

namespace CurWorkflows.Service.Costs;

/// <summary>RFC 4180 CSV of cost rows; amounts exactly as stored, invariant culture.</summary>
public static class CostCsv
{
    public static string Write(CostReport report, CostGranularity granularity, bool byResource)
    {
        var text = new StringBuilder();
        text.Append(granularity == CostGranularity.Daily ? "date" : "month").Append(",package,");
        if (byResource)
        {
            text.Append("resource_id,product_code,");
        }

        text.Append("currency,unblended,net_unblended,amortized\r\n");
        foreach (var line in report.Rows)
        {
            text.Append(line.Period.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).Append(',');
            text.Append(Field(line.Package)).Append(',');
            if (byResource)
            {
                text.Append(Field(line.ResourceId ?? "")).Append(',');
                text.Append(Field(line.ProductCode ?? "")).Append(',');
            }

            text.Append(Field(line.Currency)).Append(',');
            text.Append(line.Cost.Unblended.ToString(CultureInfo.InvariantCulture)).Append(',');
            text.Append(line.Cost.NetUnblended.ToString(CultureInfo.InvariantCulture)).Append(',');
            text.Append(line.Cost.Amortized.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        }

        return text.ToString();
    }

    /// <summary>
    /// Quotes when needed. Tag values come from customers' AWS accounts: a leading = + - @ would be run as a
    /// formula by spreadsheets, so such values get a leading apostrophe.
    /// </summary>
    public static string Field(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0
            ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : value;
    }
}
