/** 個人住民税 (individual inhabitant tax): one record per person and tax year, linked by subject and 宛名番号. */
export const KOJIN_JUMINZEI = {
  fields: [
    { name: 'atena_number', label: '宛名番号', type: 'atena-number', required: true, searchable: true },
    { name: 'tax_year', label: '課税年度', type: 'integer', required: true, minimum: 1950, maximum: 2200, classification: 'public' },
    { name: 'name', label: '氏名', type: 'string', required: true, searchable: true, maxLength: 100, fold: ['space', 'kanji'], mask: 'initial' },
    { name: 'name_kana', label: '氏名フリガナ', type: 'kana', searchable: true, maxLength: 200 },
    { name: 'my_number', label: '個人番号', type: 'my-number' },
    { name: 'total_income', label: '総所得金額', type: 'decimal', precision: 14, scale: 0 },
    { name: 'taxable_income', label: '課税標準額', type: 'decimal', precision: 14, scale: 0 },
    { name: 'income_levy', label: '所得割額', type: 'decimal', precision: 12, scale: 0 },
    { name: 'per_capita_levy', label: '均等割額', type: 'decimal', precision: 8, scale: 0 },
    { name: 'collection_method', label: '徴収方法', type: 'enum', values: ['普通徴収', '特別徴収', '年金特別徴収'] },
    { name: 'employer_corporate_number', label: '特別徴収義務者法人番号', type: 'corporate-number' },
    { name: 'dependents', label: '扶養人数', type: 'integer', minimum: 0, maximum: 99 },
    { name: 'disability_deduction', label: '障害者控除', type: 'boolean', classification: 'sensitive' },
    { name: 'status', label: '課税状況', type: 'enum', values: ['課税', '非課税', '未申告'], required: true },
  ],
} as const;
