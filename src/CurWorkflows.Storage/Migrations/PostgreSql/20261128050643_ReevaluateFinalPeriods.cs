using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CurWorkflows.Storage.Migrations.PostgreSql
{
    /// <inheritdoc />
    public partial class ReevaluateFinalPeriods : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Periods were final once any row had an invoice id; now only when every row has one. A period marked final
            // by the old rule (a purchase invoiced mid-month) would never be read again: let the next run decide anew.
            migrationBuilder.Sql("UPDATE billing_periods SET is_final = false;");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // Which periods were final is not kept; the next runs mark them again.
        }
    }
}
