# Named language sets (FineWeb-2 config names; English comes from HuggingFaceFW/fineweb).
LANG_SET_20 = ['eng', 'cmn_Hani', 'spa_Latn', 'arb_Arab', 'rus_Cyrl', 'deu_Latn', 'fra_Latn', 'jpn_Jpan',
               'hin_Deva', 'por_Latn', 'ind_Latn', 'vie_Latn', 'tur_Latn', 'pol_Latn', 'ell_Grek', 'swh_Latn',
               'fas_Arab', 'ben_Beng', 'tha_Thai', 'kor_Hang']
