/** 国民健康保険 (National Health Insurance): one record per insured person, linked by subject and 宛名番号. */
export const KOKUHO = {
  fields: [
    { name: 'atena_number', label: '宛名番号', type: 'atena-number', required: true, searchable: true },
    { name: 'household_number', label: '世帯番号', type: 'household-number', required: true, searchable: true },
    { name: 'insurer_number', label: '保険者番号', type: 'insurer-number', required: true, classification: 'public' },
    { name: 'insured_symbol', label: '被保険者証記号', type: 'string', maxLength: 20 },
    { name: 'insured_number', label: '被保険者証番号', type: 'string', required: true, searchable: true, maxLength: 20, mask: 'last4' },
    { name: 'branch_number', label: '枝番', type: 'string', maxLength: 2 },
    { name: 'name', label: '氏名', type: 'string', required: true, searchable: true, maxLength: 100, fold: ['space', 'kanji'], mask: 'initial' },
    { name: 'name_kana', label: '氏名フリガナ', type: 'kana', searchable: true, maxLength: 200 },
    { name: 'birth_date', label: '生年月日', type: 'jp-date', required: true },
    { name: 'my_number', label: '個人番号', type: 'my-number' },
    { name: 'householder', label: '世帯主', type: 'boolean' },
    { name: 'acquired_on', label: '資格取得年月日', type: 'jp-date', required: true },
    { name: 'acquisition_reason', label: '資格取得事由', type: 'enum', values: ['転入', '出生', '社保離脱', '生保廃止', 'その他'] },
    { name: 'lost_on', label: '資格喪失年月日', type: 'jp-date' },
    { name: 'loss_reason', label: '資格喪失事由', type: 'enum', values: ['転出', '死亡', '社保加入', '生保開始', '後期高齢者医療', 'その他'] },
    { name: 'copayment', label: '一部負担金割合', type: 'enum', values: ['1割', '2割', '3割'] },
    { name: 'retired_special', label: '退職者医療', type: 'boolean' },
  ],
} as const;
