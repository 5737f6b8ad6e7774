using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CurWorkflows.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class CostAmountsTwelveDecimalPlaces : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {

        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {

        }
    }
}
